from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from apps.accounts.roles import ROLES
from apps.credentials.models import CredentialKind, requests_per_s_validate

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


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What or who uses it, e.g. "
                           "'CRM sync' or 'reporting script'.")
    expires_at = forms.DateTimeField(required=False, label="Expires",
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     help_text="Leave empty for a token that never expires.")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name


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


class VariableForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Read it in expressions as vars.NAME.")
    value = forms.CharField(required=False, strip=False, max_length=10_000,
                            widget=forms.Textarea(attrs={"rows": 1}))
    description = forms.CharField(max_length=500, required=False)


def errors_into(form: forms.Form, exc) -> None:
    """A service's refusal (its `errors` per field) shown on the form's fields."""
    errors = (getattr(exc, "extra", None) or {}).get("errors") or {}
    for field, problems in errors.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
    if not errors:
        form.add_error(None, str(exc.detail))


class CredentialForm(forms.Form):
    """A credential's fields and, per kind, its secret's. On edit the secret fields are
    empty: filled, they replace the secret; left empty, the secret stays."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=CredentialKind.choices)
    description = forms.CharField(max_length=500, required=False)
    allowed_hosts = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "api.example.com"}),
        help_text="Where it may be sent, one per line: api.example.com, "
                  "api.example.com:8443, *.example.com.")
    requests_per_s = forms.FloatField(
        required=False, label="Requests per second", validators=[requests_per_s_validate],
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "placeholder": "no limit"}),
        help_text="At most this many calls per second send it (calls over it wait, "
                  "queued); empty: no limit.")
    token = forms.CharField(required=False, strip=False, label="Token",
                            widget=forms.PasswordInput(attrs={"data-kind": "bearer",
                                                              "autocomplete": "off"}))
    username = forms.CharField(required=False, label="User name",
                               widget=forms.TextInput(attrs={"data-kind": "basic"}))
    password = forms.CharField(required=False, strip=False, label="Password",
                               widget=forms.PasswordInput(attrs={"data-kind": "basic",
                                                                 "autocomplete": "off"}))
    header = forms.CharField(required=False, label="Header", initial="X-API-Key",
                             widget=forms.TextInput(attrs={"data-kind": "api_key"}),
                             help_text="The header that carries the key.")
    key = forms.CharField(required=False, strip=False, label="Key",
                          widget=forms.PasswordInput(attrs={"data-kind": "api_key",
                                                            "autocomplete": "off"}))
    query_param = forms.CharField(required=False, label="Query parameter",
                                  widget=forms.TextInput(attrs={"data-kind": "api_key"}),
                                  help_text="Set to send the key as this URL parameter "
                                            "instead of a header.")
    values = forms.CharField(required=False, strip=False, label="Values",
                             widget=forms.Textarea(attrs={"rows": 3, "data-kind": "secret",
                                                          "placeholder": "Header-Name: value"}),
                             help_text="One 'name: value' per line; each is sent as a header.")

    SECRET_FIELDS = ("token", "username", "password", "header", "key", "query_param", "values")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["kind"].disabled = True
            for name in ("token", "password", "key", "values"):
                self.fields[name].help_text = "Leave empty to keep the stored secret " \
                    "(it is never shown)."

    def hosts(self) -> list[str]:
        text = self.cleaned_data.get("allowed_hosts", "")
        return [h.strip() for h in text.replace(",", "\n").splitlines() if h.strip()]

    def secret(self) -> dict | None:
        """The secret the form gives for its kind; None when editing leaves it as it is."""
        data, kind = self.cleaned_data, self.cleaned_data.get("kind")
        if kind == "bearer":
            given = data["token"]
            secret = {"token": given}
        elif kind == "basic":
            given = data["password"]
            secret = {"username": data["username"], "password": given}
        elif kind == "api_key":
            given = data["key"]
            secret = {"header": data["header"] or "X-API-Key", "value": given,
                      "query_param": data["query_param"]}
        else:
            given = data["values"]
            secret = {}
            for line in given.splitlines():
                if line.strip():
                    name, _, value = line.partition(":")
                    secret[name.strip()] = value.strip()
        if self.editing and not given:
            return None
        return secret


def secret_errors_into(form: "CredentialForm", exc) -> None:
    """The service names secret fields as `secret.<field>`: show them on the form's own."""
    errors = (getattr(exc, "extra", None) or {}).get("errors") or {}
    mapping = {"secret.token": "token", "secret.username": "username",
               "secret.password": "password", "secret.header": "header",
               "secret.value": "key", "secret.query_param": "query_param", "secret": None}
    kind = form.cleaned_data.get("kind")
    for field, problems in errors.items():
        target = mapping.get(field, field.split("[")[0].split(".")[0])
        if field == "secret" and kind == "secret":
            target = "values"
        for problem in problems:
            form.add_error(target if target in form.fields else None, problem)
    if not errors:
        form.add_error(None, str(exc.detail))


class CredentialTestForm(forms.Form):
    url = forms.URLField(max_length=2000, assume_scheme="https", label="URL to try",
                         help_text="A GET request with the credential, as the HTTP node "
                                   "sends it; the URL's host must be an allowed host.")


def header_lines(text: str) -> dict[str, str]:
    """'Name: value' lines as a dict (blank lines skipped)."""
    headers = {}
    for line in (text or "").splitlines():
        if line.strip():
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    return headers


class TritonServerForm(forms.Form):
    """What the console shows; the rules are the API's (apps.inference.apis)."""

    name = forms.CharField(max_length=100, help_text="Inference nodes name the server by it.")
    url = forms.CharField(max_length=500, label="URL",
                          help_text="host:port, optionally with http://, https://, grpc://.")
    protocol = forms.ChoiceField(choices=[("http", "HTTP"), ("grpc", "gRPC")])
    timeout_s = forms.FloatField(initial=10.0, label="Timeout (s)", min_value=0.1,
                                 max_value=300)
    models = forms.CharField(required=False, label="Models to look for",
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="One per line; for servers whose model index is "
                                       "closed or empty.")
    headers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="'Name: value' per line, sent with every call.")
    secret_headers = forms.CharField(
        required=False, strip=False, label="Secret headers",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "triton-access-token: …"}),
        help_text="'Name: value' per line, stored encrypted and never shown again; "
                  "on edit, what you give is added or replaced.")
    tls_verify = forms.BooleanField(required=False, initial=True, label="Check TLS certificate")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def api_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["models"] = [m.strip() for m in data["models"].splitlines() if m.strip()]
        data["headers"] = header_lines(data["headers"])
        data["secret_headers"] = header_lines(data["secret_headers"])
        return data


class TritonTryForm(forms.Form):
    model = forms.CharField(max_length=200)
    inputs = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Inputs (JSON)",
                             help_text='A JSON object with a value per model input, e.g. '
                                       '{"text": ["hello"]}.')
