"""normalize_path, on both fast path twins: the canonical form of a path, and what is refused."""
import pytest


@pytest.mark.parametrize("raw, canonical", [
    # nothing to change
    ("/", "/"),
    ("/inventory/v1/items/42", "/inventory/v1/items/42"),
    ("/a;x=1/b,c/d@e:f", "/a;x=1/b,c/d@e:f"),
    ("/a/.b/..c/b..", "/a/.b/..c/b.."),
    # percent-escapes of unreserved characters are decoded
    ("/%7Euser", "/~user"),
    ("/%7euser", "/~user"),
    ("/%41%62c", "/Abc"),
    ("/a%2D%5F%2E", "/a-_."),
    # every other escape is kept, upper-cased
    ("/a%3fb", "/a%3Fb"),
    ("/%c3%a9t%C3%A9", "/%C3%A9t%C3%A9"),
    ("/%20%25%0a", "/%20%25%0A"),
    ("/%2541", "/%2541"),                 # decoded once, never twice
    # dot segments resolved, also when they were escaped
    ("/a/./b", "/a/b"),
    ("/a/b/../c", "/a/c"),
    ("/a/%2e%2e/b", "/b"),
    ("/a/%2E/b", "/a/b"),
    ("/a/b/c/../../d", "/a/d"),
    # repeated slashes merged
    ("/a//b", "/a/b"),
    ("//a///b", "/a/b"),
    ("//", "/"),
    # a trailing slash is kept, also where a dot segment ends the path
    ("/a/b/", "/a/b/"),
    ("/a/b//", "/a/b/"),
    ("/a/b/.", "/a/b/"),
    ("/a/b/..", "/a/"),
    ("/a/..", "/"),
    ("/a/%2e%2e", "/"),
    ("/.", "/"),
])
def test_canonical_form(twin, raw, canonical):
    assert twin.normalize_path(raw) == canonical
    assert twin.normalize_path(canonical) == canonical   # canonical stays canonical


@pytest.mark.parametrize("raw, reason", [
    # encoded slash, backslash, NUL
    ("/a%2Fb", "encoded slash"),
    ("/a%2fb", "encoded slash"),
    ("/a%5Cb", "encoded slash"),
    ("/a%5cb", "encoded slash"),
    ("/a%00", "encoded slash"),
    # bad or truncated escapes
    ("/a%zz", "bad percent-escape"),
    ("/a%4g", "bad percent-escape"),
    ("/a%%41", "bad percent-escape"),
    ("/a%4", "truncated"),
    ("/a%", "truncated"),
    ("/%", "truncated"),
    # climbing above the root
    ("/..", "above the root"),
    ("/a/../..", "above the root"),
    ("/a/../../b", "above the root"),
    ("/%2e%2e/etc/passwd", "above the root"),
    # dot segments carrying parameters (/..;/ is read as /../ by some backends)
    ("/a/..;/b", "dot segment with parameters"),
    ("/..;/admin", "dot segment with parameters"),
    ("/a/.;x=1/b", "dot segment with parameters"),
    ("/a/..;jsessionid=1", "dot segment with parameters"),
    ("/a/%2e%2e;/b", "dot segment with parameters"),
    # raw characters a path may not hold
    ("/a\\b", "refused character"),
    ("/a b", "refused character"),
    ("/a\tb", "refused character"),
    ("/a\x00b", "refused character"),
    ("/a\x7fb", "refused character"),
    ("/a\nb", "refused character"),
    ("/a#b", "refused character"),
    ('/a"b', "refused character"),
    ("/a<b>", "refused character"),
    ("/a{b}", "refused character"),
    ("/a|b", "refused character"),
    ("/a^b", "refused character"),
    ("/a`b", "refused character"),
    ("/caf\u00e9", "refused character"),
    ("/\u2215etc", "refused character"),
    ("/a/%41/\u00e9", "refused character"),
    ("/\u00e9%zz", "bad percent-escape"),   # the first problem found is the one reported
    ("/\u00e9%2f", "encoded slash"),
    ("/\u00e9%4", "truncated"),
    # not a path at all
    ("", "must start with /"),
    ("a/b", "must start with /"),
    ("*", "must start with /"),
    ("\u00e9/", "must start with /"),
])
def test_refused(twin, raw, reason):
    with pytest.raises(twin.PathError, match=reason):
        twin.normalize_path(raw)


def test_path_error_is_a_value_error(twin):
    assert issubclass(twin.PathError, ValueError)
    assert twin.PathError.__module__ == twin.__name__


@pytest.mark.parametrize("raw, canonical", [
    (b"/inventory/v1/items/42", "/inventory/v1/items/42"),
    (b"/a/./b//c/%7e", "/a/b/c/~"),
    (bytearray(b"/a/../b"), "/b"),
])
def test_bytes_give_str(twin, raw, canonical):
    result = twin.normalize_path(raw)
    assert type(result) is str
    assert result == canonical


@pytest.mark.parametrize("raw, reason", [
    (b"/caf\xc3\xa9", "non-ASCII byte"),
    (b"x\xff", "non-ASCII byte"),           # checked before anything else
    (b"a/b", "must start with /"),
    (b"/a/..;/b", "dot segment"),
    (b"/a%2fb", "encoded slash"),
])
def test_bytes_refused(twin, raw, reason):
    with pytest.raises(twin.PathError, match=reason):
        twin.normalize_path(raw)
