from .selectors import assignment_of


def staff_assignment(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"assignment": assignment_of(user)}
