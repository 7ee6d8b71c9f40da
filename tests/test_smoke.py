def test_communes_exist(commune_a, commune_b):
    assert commune_a.schema_name == "alpha"
    assert commune_b.domains.get().domain == "beta.parvis.test"
