from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from apps.accounts.roles import ROLES

ROLE_CHOICES = [(role, role) for role in ROLES]


class UserCreateForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]{1,150}$", max_length=150,
                                error_messages={"invalid": "Letters, digits and @ . + - _ only."})
    email = forms.EmailField(required=False)
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput,
                               help_text="Leave empty to generate one, shown once.")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("A user with this username exists.")
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = get_user_model()(username=cleaned.get("username", ""),
                                     email=cleaned.get("email", ""))
            try:
                validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class UserRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, required=False)


class TeamForm(forms.Form):
    """A team's fields; the lead is one of the active users (they become a member)."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    lead = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                  empty_label="No lead")
    webhook_url = forms.URLField(max_length=2000, required=False, assume_scheme="https",
                                 label="Webhook URL",
                                 help_text="Optional: task events are posted there as a "
                                           "Slack-compatible message.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = get_user_model().objects.filter(
            is_active=True).order_by("username")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A team needs a name.")
        return name


class TeamMemberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(),
                                  empty_label="Pick a user")

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        if team is not None:
            users = users.exclude(pk__in=team.members.values("pk"))
        self.fields["user"].queryset = users
