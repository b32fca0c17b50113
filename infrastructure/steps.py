"""Domain steps shared by every app: the refusal they raise and the page that runs one."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render


class StepRefused(ValidationError):
    """A step the rules do not allow now; the message says why, for the user."""


def step_view(
    request,
    *,
    form,
    title: str,
    subject,
    cancel_url: str,
    perform: Callable,
    done: str,
    then: str | None = None,
):
    """Show `form`; on a valid POST run `perform(cleaned_data)` and go to `then`, or, without
    `then`, to the URL `perform` returns.

    A StepRefused from the service is shown at the top of the form; nothing was written.
    """
    if request.method == "POST" and form.is_valid():
        try:
            result = perform(form.cleaned_data)
        except StepRefused as refused:
            form.add_error(None, refused.messages)
        else:
            messages.success(request, done)
            return redirect(then or result)
    return render(
        request,
        "action_form.html",
        {"form": form, "title": title, "subject": subject, "cancel_url": cancel_url},
    )


def step_on(request, subject, *, page: str, form, title: str, done: str, perform: Callable):
    """`step_view` for a step on one object whose own page is `page`: cancelled or done, the
    user is back there; `perform(subject, cleaned_data)`."""
    return step_view(
        request,
        form=form,
        title=title,
        subject=subject,
        cancel_url=page,
        then=page,
        perform=lambda data: perform(subject, data),
        done=done,
    )
