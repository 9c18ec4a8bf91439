from awslb import names


def test_elbv2_names_fit_32_chars_and_stay_distinct() -> None:
    a = names.elbv2("a-very-long-stack-name-here", "websocket-target-group")
    b = names.elbv2("a-very-long-stack-name-here", "websocket-target-group-2")
    assert len(a) <= 32 and len(b) <= 32
    assert a != b
    assert a == names.elbv2("a-very-long-stack-name-here", "websocket-target-group")
    assert all(c.isalnum() or c == "-" for c in a)
    assert not a.endswith("-") and not a.startswith("-")


def test_short_names_are_kept() -> None:
    assert names.elbv2("edge", "alb") == "edge-alb"


def test_tags() -> None:
    t = names.tags("edge", "lb-sg", "edge-balancer", {"team": "media"})
    assert t == {"team": "media", "awslb:stack": "edge", "awslb:id": "lb-sg", "Name": "edge-balancer"}
    assert names.tag_dict(names.tag_list(t)) == t
