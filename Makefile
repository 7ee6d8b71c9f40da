# Parvis: `make run` (demo site + worker + beat) and `make test` (the whole suite).
# Needs only Python 3.11+; everything else is installed into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test bench lint messages clean-data

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)
	PARVIS_ENV=dev $(PY) manage.py setup_platform --verbosity 0

run: install
	PARVIS_ENV=dev $(PY) manage.py load_demo
	PARVIS_ENV=dev $(PY) manage.py rundev

test: $(STAMP)
	PARVIS_ENV=test $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	status=0; for script in onboarding search booking_load invoicing webhooks reconcile helios; do \
	  echo "== bench/$$script.py"; PARVIS_ENV=dev $(PY) bench/$$script.py || status=1; done; \
	exit $$status

messages: $(STAMP)
	cd accounts && ../$(PY) ../manage.py makemessages -l fr --ignore=.venv
	$(PY) manage.py makemessages -l fr --ignore=.venv --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

clean-data:
	rm -rf .data
