"""Workflow names: unique as people read them (Unicode normalisation, case folding,
invisible characters left out), never invisible-only; a deleted workflow frees its
name; an import beside its original is named a copy."""

import pytest

from apps.workflows.models import Workflow

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("alike", ["invoices", "INVOICES", "Ｉｎｖｏｉｃｅｓ", "In\u200bvoices",
                                   "  Invoices ", "Invoi\u0441es".replace("\u0441", "c")])
def test_a_name_read_alike_is_refused_naming_the_field(editor_client, alike):
    assert editor_client.post("/api/workflows/", {"name": "Invoices"},
                              format="json").status_code == 201
    response = editor_client.post("/api/workflows/", {"name": alike}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "duplicate_name"
    assert "name" in response.data["errors"]
    assert Workflow.objects.count() == 1


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u202e", " \t ", "\u2066\u2069"])
def test_an_invisible_name_is_refused(editor_client, name):
    response = editor_client.post("/api/workflows/", {"name": name}, format="json")
    assert response.status_code == 400
    assert "name" in response.data["errors"]
    assert not Workflow.objects.exists()


def test_renaming_into_a_taken_name_is_refused_and_deleting_frees_it(editor_client):
    first = editor_client.post("/api/workflows/", {"name": "Orders"}, format="json").data
    second = editor_client.post("/api/workflows/", {"name": "Refunds"}, format="json").data
    response = editor_client.patch(f"/api/workflows/{second['id']}/", {"name": "ORDERS"},
                                   format="json")
    assert response.status_code == 409
    assert Workflow.objects.get(pk=second["id"]).name == "Refunds"
    # renaming to itself with another case is no clash
    assert editor_client.patch(f"/api/workflows/{first['id']}/", {"name": "ORDERS"},
                               format="json").status_code == 200
    assert editor_client.delete(f"/api/workflows/{first['id']}/").status_code == 204
    assert editor_client.patch(f"/api/workflows/{second['id']}/", {"name": "Orders"},
                               format="json").status_code == 200


def test_an_import_beside_its_original_is_named_a_copy(editor_client, simple_graph):
    created = editor_client.post("/api/workflows/", {"name": "Payroll", "graph": simple_graph},
                                 format="json").data
    document = editor_client.get(f"/api/workflows/{created['id']}/export/").json()
    first = editor_client.post("/api/workflows/import/", document, format="json")
    second = editor_client.post("/api/workflows/import/", document, format="json")
    assert (first.data["name"], second.data["name"]) == ("Payroll (copy)", "Payroll (copy 2)")


@pytest.mark.django_db(transaction=True)
def test_imports_of_one_document_at_once_each_get_a_free_name(create_user, simple_graph):
    """Eight imports of the same document racing: each lands under its own copy name,
    none fails on the unique name (the free name is picked again when another took it)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from apps.workflows.services import workflow_import

    editor = create_user(roles=["editor"])
    document = {"name": "Payroll", "description": "", "graph": simple_graph}
    start = threading.Barrier(8)

    def import_once(_):
        try:
            start.wait()
            return workflow_import(user=editor, document=document).name
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(import_once, range(8)))
    assert len(set(names)) == 8
    assert Workflow.objects.filter(name__startswith="Payroll").count() == 8
