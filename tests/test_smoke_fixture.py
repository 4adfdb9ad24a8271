def test_world_builds(world, rows):
    assert rows()["points"] == 2
