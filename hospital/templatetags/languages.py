from django import template

from hospital.languages import localized

register = template.Library()


@register.filter
def local_name(obj, field: str = "name") -> str:
    """{{ department|local_name }}: the name in the page's language (English if not given)."""
    if obj is None:
        return ""
    return localized(obj, field)
