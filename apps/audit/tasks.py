from celery import shared_task

from apps.audit.services import audit_chain_verify_and_record, audit_pending_chain


@shared_task(name="audit.verify_chain", ignore_result=True)
def audit_verify_chain() -> bool:
    """Scheduled by beat on the maintenance queue (celery_worker/app.py): verify the chain, record the outcome."""
    result, _ = audit_chain_verify_and_record()
    return result.ok


@shared_task(name="audit.chain_pending", ignore_result=True)
def audit_chain_pending() -> int:
    """Scheduled by beat: chain the pending events a process left behind (each process
    chains its own right after they commit: apps.audit.chainer)."""
    return audit_pending_chain()
