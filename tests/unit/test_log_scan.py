from tests.support.secrets import leaks, remember


def test_the_log_scan_finds_what_it_should_and_nothing_else():
    remember("hunter2 is my password", "482913")
    assert leaks('{"event": "login", "password": "[redacted]"}') == []
    assert leaks('{"event": "x", "note": "hunter2 is my password"}') == ["hunter2 is my password"]
    assert leaks("code 482913 sent") == ["482913"]
    assert leaks("request_id=ab482913cd duration_ms=0.482913") == []  # part of other tokens
