def test_x():
    import billing.importers
