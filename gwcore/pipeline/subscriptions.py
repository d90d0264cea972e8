"""Who may call an API: the subscription a key belongs to, and the product whose policies apply.

As APIM: a key must belong to an active subscription whose scope covers the API (the API
itself, a product holding it, or all APIs); a call without a key passes only through an open
product or an API that needs no subscription. Keys are looked up by a keyed digest and
compared in constant time (Plan.find_subscription); they are never logged.
"""
from gwcore.pipeline.errors import PolicyError

MISSING_KEY = ("Access denied due to missing subscription key. Make sure to include subscription key when"
               " making requests to an API.")
INVALID_KEY = ("Access denied due to invalid subscription key. Make sure to provide a valid key for an active"
               " subscription.")
NO_GRANT = (None, None, None, None)
"""What a call that was refused (and goes to on-error) or matched no API runs with."""


def missing_key() -> PolicyError:
    return PolicyError(401, MISSING_KEY, "SubscriptionKeyNotFound", source="authorization")


def invalid_key() -> PolicyError:
    return PolicyError(401, INVALID_KEY, "SubscriptionKeyInvalid", source="authorization")


def authorize(plan, api, key):
    """(SubscriptionPlan or None, product name or None) for a call of `api` with `key` (or None).
    Raises PolicyError 401 when the call may not pass. Product policies apply only for a
    product-scoped key, or for a keyless call through an open product."""
    if key is None:
        if api.open_product is not None:
            return None, api.open_product
        if not api.subscription_required:
            return None, None
        raise missing_key()
    subscription = plan.find_subscription(key)
    if subscription is None or not subscription.active:
        raise invalid_key()
    scope = subscription.scope
    if scope == "all" or (scope == "api" and subscription.target == api.name):
        return subscription, None
    if scope == "product" and subscription.target in api.products:
        return subscription, subscription.target
    raise invalid_key()


def grant(plan, api, key) -> tuple:
    """(subscription, product, context.subscription, context.product) for a call of `api` with
    `key` (or None); raises as authorize does. What passed is remembered in `api.grants`, so the
    next call with that key is one dict lookup (the exchange looks there first). Only keys that
    passed are kept: at most the two keys of each subscription, and None."""
    subscription, product = authorize(plan, api, key)
    found = api.grants[key] = (subscription, product,
                               subscription.info(key) if subscription is not None else None,
                               plan.product_infos.get(product) if product is not None else None)
    return found
