from celery import shared_task

from apps.audit.services import audit_chain_verify_and_record


@shared_task(name="audit.verify_chain", ignore_result=True)
def audit_verify_chain() -> bool:
    """Scheduled by beat on the maintenance queue (celery_worker/app.py): verify the chain, record the outcome."""
    result, _ = audit_chain_verify_and_record()
    return result.ok
