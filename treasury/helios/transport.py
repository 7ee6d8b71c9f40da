"""How a released bordereau reaches the treasury: a sender adapter. The drop folder
writes each file atomically (temporary name, then rename) into a subfolder per commune,
where the transfer software (or a person) picks it up; SFTP is a placeholder until a
commune needs it (no dependency on an SSH library yet)."""

import os
import tempfile
from pathlib import Path

from django.utils.translation import gettext_lazy

ERROR_NOT_CONFIGURED = gettext_lazy(
    "The transmission to Hélios is not configured (HELIOS_DROP_DIR is not set and SFTP "
    "is not available): download the file and send it yourself.")


class TransportError(Exception):
    """A sending failed and may succeed later (retried)."""


class TransportNotConfigured(TransportError):
    """No way to send: retrying will not help."""


class Sender:
    def send(self, *, schema_name: str, file_name: str, content: bytes) -> str:
        """Deliver ``content``; return where it went. Raises ``TransportError``."""
        raise NotImplementedError


class DropFolderSender(Sender):
    def __init__(self, root):
        self.root = Path(root)

    def send(self, *, schema_name: str, file_name: str, content: bytes) -> str:
        if Path(file_name).name != file_name or Path(schema_name).name != schema_name:
            raise ValueError("plain file and commune names only")
        folder = self.root / schema_name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(content)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, folder / file_name)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise TransportError(str(error)) from error
        return str(folder / file_name)


class SftpSender(Sender):
    """Placeholder: the treasury's SFTP gateway is not implemented yet."""

    def send(self, *, schema_name: str, file_name: str, content: bytes) -> str:
        raise TransportNotConfigured(str(ERROR_NOT_CONFIGURED))


def sender_from_settings(settings) -> Sender:
    drop_dir = getattr(settings, "HELIOS_DROP_DIR", None)
    return DropFolderSender(drop_dir) if drop_dir else SftpSender()
