from django import template

from hospital.languages import current_language, language_choices, staff_language_choices

register = template.Library()


@register.simple_tag(takes_context=True)
def language_menu(context) -> dict:
    """The header's language menu: staff pages come in the staff languages only, so a
    signed-in user is offered those; anyone else (a patient's phone) every language."""
    request = context.get("request")
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "choices": staff_language_choices() if signed_in else language_choices(),
        "current": current_language(),
        "next": request.get_full_path() if request else "/",
    }
