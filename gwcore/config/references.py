"""Checks across the validated config: names that must exist, duplicates, routes that can never match."""
import hmac
from collections import defaultdict


def template_shape(template: str) -> tuple:
    """'/items/{id}' -> ('items', '{}'): two templates with one shape can never both match."""
    segments = [s for s in template.strip("/").split("/") if s]
    return tuple("{}" if s.startswith("{") and s.endswith("}") else s.lower() for s in segments)


def api_prefix(api) -> tuple:
    """The path segments an API claims, with a path-scheme version as one more segment."""
    segments = [s.lower() for s in api.path.split("/") if s]
    if api.version_scheme == "path":
        segments.append(api.version.lower())
    return tuple(segments)


def check_references(config, source, defined: dict = None) -> list:
    """Problems across entries. `defined` ({"backends": names, ...}) lists every entry the file
    defines, valid or not, so an entry with its own mistake is not also reported as missing."""
    problems = []
    defined = defined or {}
    backends = defined.get("backends", config.backends)
    apis = defined.get("apis", config.apis)
    products = defined.get("products", config.products)

    def report(path, message):
        problems.append(source.problem(path, message))

    for name, api in config.apis.items():
        if api.backend is not None and api.backend not in backends:
            report(("apis", name, "backend"), f"backend {api.backend!r} is not defined in backends"
                   f" (defined: {', '.join(sorted(backends)) or 'none'})")
        _check_operations(name, api, report)

    open_products = defaultdict(list)
    for name, product in config.products.items():
        for index, api in enumerate(product.apis):
            if api in product.apis[:index]:
                report(("products", name, "apis", index), f"API {api!r} is listed twice in this product")
            elif api not in apis:
                report(("products", name, "apis", index), f"API {api!r} is not defined in apis")
            elif not product.subscription_required:
                open_products[api].append(name)
    for api, names in open_products.items():
        if len(names) > 1:
            report(("products", names[1], "subscription_required"),
                   f"API {api!r} is in more than one open product ({', '.join(names)}); APIM allows one")

    _check_subscriptions(config, apis, products, report)
    _check_api_paths(config, report)
    return problems


def _check_operations(api_name, api, report):
    seen_ids = {}
    seen_shapes = {}
    for index, op in enumerate(api.operations):
        where = ("apis", api_name, "operations", index)
        if op.id in seen_ids:
            report(where + ("id",), f"operation id {op.id!r} is used twice in this API")
        seen_ids[op.id] = index
        segments = [s for s in op.url_template.strip("/").split("/") if s]
        params = set()
        for position, segment in enumerate(segments):
            is_param = segment.startswith("{") and segment.endswith("}")
            if ("{" in segment or "}" in segment) and not (is_param and segment[1:-1].isidentifier()):
                report(where + ("url_template",), f"segment {segment!r}: a parameter is a whole segment"
                       " like {id} with a name of letters, digits and _")
            elif is_param and segment in params:
                report(where + ("url_template",), f"parameter {segment} stands twice in the template")
            params.add(segment)
            if segment == "*" and position != len(segments) - 1:
                report(where + ("url_template",), "* may stand only as the last segment")
        key = (op.method, template_shape(op.url_template))
        if key in seen_shapes:
            report(where + ("url_template",), f"{op.method} {op.url_template} can never match: operation "
                   f"{api.operations[seen_shapes[key]].id!r} has the same method and path shape")
        else:
            seen_shapes[key] = index


def _check_subscriptions(config, apis, products, report):
    owners = {}
    for name, sub in config.subscriptions.items():
        kind, _, target = sub.scope.partition(":")
        if kind == "product" and target not in products:
            report(("subscriptions", name, "scope"), f"product {target!r} is not defined in products")
        if kind == "api" and target not in apis:
            report(("subscriptions", name, "scope"), f"API {target!r} is not defined in apis")
        for field in ("primary_key", "secondary_key"):
            key = getattr(sub, field)
            if key is None:
                continue
            # never echo the key itself: name only where it collides
            clash = next((owner for k, owner in owners.items() if hmac.compare_digest(k, key.encode())), None)
            if clash is not None:
                report(("subscriptions", name, field), f"this key is already used by {clash}; keys must be unique")
            else:
                owners[key.encode()] = f"subscriptions.{name}.{field}"


def _check_api_paths(config, report):
    groups = defaultdict(list)
    for name, api in config.apis.items():
        groups[api_prefix(api)].append((name, api))
    # A version set (the versioned APIs on one path) uses one scheme, and one header or query name.
    version_sets = defaultdict(list)
    for name, api in config.apis.items():
        if api.version_scheme is not None:
            version_sets[tuple(s.lower() for s in api.path.split("/") if s)].append((name, api))
    for base, members in version_sets.items():
        first_name, first = members[0]
        for name, api in members[1:]:
            if api.version_scheme != first.version_scheme:
                report(("apis", name, "version_scheme"), f"versions of /{'/'.join(base)} must use one version"
                       f" scheme: API {first_name!r} uses {first.version_scheme}, this one {api.version_scheme}")
            elif api.version_scheme == "header" and api.version_header.lower() != first.version_header.lower():
                report(("apis", name, "version_header"), f"versions of /{'/'.join(base)} must use one version"
                       f" header: API {first_name!r} uses {first.version_header}")
            elif api.version_scheme == "query" and api.version_query != first.version_query:
                report(("apis", name, "version_query"), f"versions of /{'/'.join(base)} must use one version"
                       f" query parameter: API {first_name!r} uses {first.version_query}")
    for prefix, members in groups.items():
        by_version = defaultdict(list)
        for name, api in members:
            version = api.version if api.version_scheme in ("header", "query") else None
            by_version[version].append((name, api))
        for version, revisions in by_version.items():
            numbers = {}
            for name, api in revisions:
                if api.revision in numbers:
                    what = f"version {version!r} of " if version else ""
                    report(("apis", name, "path"), f"duplicate API path: {what}/{'/'.join(prefix)} revision "
                           f"{api.revision} is already served by API {numbers[api.revision]!r}")
                numbers.setdefault(api.revision, name)
            current = [name for name, api in revisions if api.current]
            # with a duplicate (reported above) these are not revisions of one another
            if len(numbers) > 1 and len(numbers) == len(revisions) and len(current) != 1:
                report(("apis", revisions[-1][0], "current"), f"revisions of /{'/'.join(prefix)} need exactly one "
                       "with `current: true`")
    # An operation of a shorter API whose literal leading segments fall under a longer API can never match.
    prefixes = set(groups)
    for name, api in config.apis.items():
        mine = api_prefix(api)
        for index, op in enumerate(api.operations):
            shape = template_shape(op.url_template)
            for cut in range(1, len(shape) + 1):
                if shape[cut - 1] in ("{}", "*"):
                    break
                claimed = mine + shape[:cut]
                if claimed in prefixes:
                    owner = groups[claimed][0][0]
                    report(("apis", name, "operations", index, "url_template"),
                           f"can never match: API {owner!r} has the longer path /{'/'.join(claimed)}")
                    break
