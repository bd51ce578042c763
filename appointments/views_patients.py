"""Registered patients and their visits at the desk: find, register (an unknown emergency
patient too), correct, give a token, link a kiosk token, cancel a stop of a visit.

Views stay thin: a form parses the input, the role is checked (reception_required), one
service from appointments.patients (or queues.visits.cancel_stop) is called, and its
refusal is shown as it is. Bad input is a message and a 400 with nothing written, never a
500; an unknown patient or visit is a 404. Every change is a POST followed by a redirect.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from appointments import patients
from appointments.errors import BookingError
from appointments.forms import (
    CancelStopForm,
    CorrectPatientForm,
    GiveTokenForm,
    LinkTokenForm,
    PatientSearchForm,
    RegisterPatientForm,
    error_list,
    parse_id,
)
from appointments.models import Patient
from appointments.views import render_reception
from hospital.clock import local_today
from hospital.languages import localized
from hospital.phones import mask_mobile
from hospital.roles import reception_required
from queues.models import Visit, VisitStop
from queues.services import QueueError
from queues.visits import cancel_stop, current_token, stops_of

BAD_REQUEST = 400


def patient_url(patient: Patient) -> str:
    return reverse("reception_patient", args=[patient.pk])


# --- Finding ------------------------------------------------------------------------------


@require_GET
@reception_required
def patient_list(request):
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    found = list(patients.find_patients(query)) if query else []
    return render_reception(
        request,
        "appointments/patient_list.html",
        {
            "title": gettext("Patients"),
            "query": query,
            "rows": [{"patient": p, "mobile": mask_mobile(p.mobile or "")} for p in found],
            "limit": patients.FIND_LIMIT,
        },
    )


# --- Registering --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@reception_required
def patient_new(request):
    form = RegisterPatientForm(request.POST if request.method == "POST" else None)
    errors = []
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            details = {**form.details(), "unknown": data["unknown"], "actor": request.user}
            try:
                if data["department"] is not None:
                    patient, token = patients.register_and_give_token(
                        department=data["department"], emergency=data["emergency"], **details
                    )
                else:
                    patient, token = patients.register_patient(**details), None
            except BookingError as exc:
                errors.append(str(exc))
            else:
                messages.success(
                    request,
                    registered_message(patient, token, data["emergency"]),
                )
                return redirect(patient_url(patient))
        else:
            errors = error_list(form)
    return render_reception(
        request,
        "appointments/patient_new.html",
        {"title": gettext("Register a patient"), "form": form, "errors": errors},
        status=BAD_REQUEST if errors else 200,
    )


# --- A patient ----------------------------------------------------------------------------


def registered_message(patient: Patient, token, emergency: bool) -> str:
    values = {"name": patient.name, "number": patient.hospital_number}
    if token is None:
        return gettext("%(name)s is registered: hospital number %(number)s.") % values
    values["token"] = token.display_number
    if emergency:
        return (
            gettext(
                "%(name)s is registered: hospital number %(number)s; token %(token)s (emergency): "
                "print the slip below."
            )
            % values
        )
    return (
        gettext(
            "%(name)s is registered: hospital number %(number)s; token %(token)s: "
            "print the slip below."
        )
        % values
    )


def _correct(request, patient: Patient, form: CorrectPatientForm) -> str:
    patients.correct_patient(
        patient, actor=request.user, reason=form.cleaned_data["reason"], **form.details()
    )
    return gettext("%(name)s's details were corrected.") % {"name": patient.name}


def _give_token(request, patient: Patient, form: GiveTokenForm) -> str:
    data = form.cleaned_data
    token = patients.give_token(
        patient, data["department"], emergency=data["emergency"], actor=request.user
    )
    values = {"number": token.display_number, "name": patient.name}
    if data["emergency"]:
        return gettext("Token %(number)s (emergency) given to %(name)s: print the slip below.") % (
            values
        )
    return gettext("Token %(number)s given to %(name)s: print the slip below.") % values


def _link(request, patient: Patient, form: LinkTokenForm) -> str:
    token = patients.token_of_today(form.cleaned_data["token"])
    patients.link_token(token, patient, actor=request.user)
    return gettext("Token %(number)s is linked to %(name)s.") % {
        "number": token.display_number,
        "name": patient.name,
    }


ACTIONS = {
    "correct": (CorrectPatientForm, _correct),
    "token": (GiveTokenForm, _give_token),
    "link": (LinkTokenForm, _link),
}


def correction_initial(patient: Patient) -> dict:
    return {
        "name": patient.name,
        "year_of_birth": patient.year_of_birth,
        "age_is_estimate": patient.age_is_estimate,
        "sex": patient.sex,
        "mobile": patient.mobile or "",
        "email": patient.email,
        "language": patient.language,
    }


@require_http_methods(["GET", "POST"])
@reception_required
def patient_detail(request, pk):
    if parse_id(pk) is None:  # an id too long for the database's integer
        raise Http404(gettext("No such patient."))
    patient = get_object_or_404(Patient, pk=pk)
    forms = {
        "correct": CorrectPatientForm(initial=correction_initial(patient), prefix="correct"),
        "token": GiveTokenForm(prefix="token"),
        "link": LinkTokenForm(prefix="link"),
    }
    errors = []
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        if action not in ACTIONS:
            errors.append(
                gettext("Choose what to do: correct the details, give a token or link one.")
            )
        else:
            form_class, act = ACTIONS[action]
            form = forms[action] = form_class(request.POST, prefix=action)
            if form.is_valid():
                try:
                    done = act(request, patient, form)
                except BookingError as exc:
                    errors.append(str(exc))
                else:
                    messages.success(request, done)
                    return redirect(patient_url(patient))
            else:
                errors = error_list(form)
    today = local_today()
    visits = patients.visits_of(patient)
    open_today = [v for v in visits if v.service_date == today and v.status == Visit.Status.OPEN]
    return render_reception(
        request,
        "appointments/patient.html",
        {
            "title": patient.name,
            "patient": patient,
            "age": today.year - patient.year_of_birth if patient.year_of_birth else None,
            "mobile": mask_mobile(patient.mobile or ""),
            "events": patient.events.select_related("actor"),
            "visits": visits,
            "slips": [t for t in (current_token(v) for v in open_today) if t is not None],
            "forms": forms,
            "action": action,
            "errors": errors,
        },
        status=BAD_REQUEST if errors else 200,
    )


# --- A visit ------------------------------------------------------------------------------


CANCELLABLE = (VisitStop.Status.PLANNED, VisitStop.Status.CURRENT)


@require_http_methods(["GET", "POST"])
@reception_required
def visit_detail(request, public_id):
    visit = get_object_or_404(Visit.objects.select_related("patient"), public_id=public_id)
    errors = []
    if request.method == "POST":
        form = CancelStopForm(request.POST)
        if not form.is_valid():
            errors = error_list(form)
        else:
            stop = VisitStop.objects.filter(visit=visit, pk=form.cleaned_data["stop"]).first()
            if stop is None:
                errors.append(gettext("That stop is not part of this visit."))
            else:
                try:
                    cancel_stop(stop, actor=request.user, reason=form.cleaned_data["reason"])
                except QueueError as exc:
                    errors.append(str(exc))
                else:
                    messages.success(
                        request,
                        gettext("The stop at %(department)s is cancelled.")
                        % {"department": localized(stop.department)},
                    )
                    return redirect("reception_visit", public_id=visit.public_id)
    return render_reception(
        request,
        "appointments/visit.html",
        {
            "title": gettext("Visit of %(name)s on %(day)s")
            % {"name": visit.patient_name, "day": dateformat.format(visit.service_date, "d M Y")},
            "visit": visit,
            "stops": [{"stop": s, "cancellable": s.status in CANCELLABLE} for s in stops_of(visit)],
            "errors": errors,
        },
        status=BAD_REQUEST if errors else 200,
    )
