"""The site's form renderer (trialsite/form_renderer.py) draws the markup Django's own template
renderer draws, for every kind of widget the site's forms use, errors included."""

from django import forms
from django.forms.renderers import DjangoTemplates
from django.test.html import parse_html

from trialsite.form_renderer import FormRenderer


class EveryWidgetForm(forms.Form):
    pga = forms.DecimalField(label="PGA", min_value=0, max_value=3, decimal_places=2)
    visit_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    seizure = forms.BooleanField(required=False)
    grade = forms.ChoiceField(choices=[("", "---------"), ("A", "A"), ("E", "E <none>")])
    ward = forms.ChoiceField(
        choices=[("in", "Inpatient"), ("out", "Outpatient")], widget=forms.RadioSelect
    )
    signs = forms.MultipleChoiceField(
        choices=[("rash", "Rash"), ("ulcers", "Oral ulcers")], widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(widget=forms.Textarea, help_text="Why the value changed")
    document = forms.FileField(required=False)
    version = forms.CharField(widget=forms.HiddenInput)


def same_markup(form: forms.Form) -> bool:
    ours = form.render(renderer=FormRenderer())
    django = form.render(renderer=DjangoTemplates())
    return parse_html(ours) == parse_html(django)


def test_an_empty_form_has_django_templates_markup() -> None:
    assert same_markup(EveryWidgetForm())


def test_a_form_with_errors_has_django_templates_markup() -> None:
    data = {"pga": '3.5"><b>', "grade": "E", "ward": "in", "signs": ["rash"], "reason": "It's <b>"}
    form = EveryWidgetForm(data)
    form.add_error(None, "The schedule's order is BL, then M1.")

    assert same_markup(form)


def test_django_form_templates_are_jinja2_and_the_admin_widgets_the_django_language() -> None:
    renderer = FormRenderer()
    widget = renderer.get_template("django/forms/widgets/select.html")
    admin_widget = renderer.get_template("admin/widgets/related_widget_wrapper.html")

    assert type(widget).__module__ == "django.template.backends.jinja2"
    assert type(admin_widget).__module__ == "django.template.backends.django"
