"""Adding and retiring slots: SIGTTIN/SIGTTOU, and a reload that changes the worker count or address."""
from gwcore.supervisor.slots import tls_listen


def scale(sup) -> None:
    """Open or retire slots until there are `sup.target` of them."""
    active = sup.slots.active()
    for _ in range(sup.target - len(active)):
        try:
            sup.slots.open(sup.settings.listen, tls_listen(sup.settings))
        except OSError as exc:
            sup.log.error("cannot open another slot on %s: %s", sup.settings.listen, exc.strerror or exc)
            break
    for slot in active[sup.target:]:
        retire(sup, slot)
    sup.log.info("%d slot(s) serving, %d retiring", len(sup.slots.active()),
                 len(sup.slots.slots) - len(sup.slots.active()))


def move(sup, fresh: list) -> None:
    """Serve from the `fresh` slots (a new listen address, already bound); retire all others."""
    for slot in sup.slots.active():
        if slot not in fresh:
            retire(sup, slot)
    sup.target = len(fresh)
    sup.log.info("moved to http://%s", sup.settings.listen)


def retire(sup, slot) -> None:
    """Retire a slot without dropping its queue where that can be helped.

    Closing a SO_REUSEPORT socket resets what waits in its queue, and while the socket
    stays in the group the kernel keeps queueing new connections there. So the slot's
    serving worker is asked to take the socket out of the group itself, accepting what
    is queued the moment before; with no worker to do that, we do it here. The socket
    closes when the slot's last worker has gone (SlotRegistry.remove, from reap).
    """
    slot.retiring = True
    handed = False
    for worker in slot.workers:
        if worker.state == "ready" and worker.channel is not None and worker.channel.send({"t": "retire"}):
            sup.log.info("slot %d: worker %d draining (slot retired)", slot.index, worker.pid)
            worker.state = "draining"
            handed = True
        else:
            sup.drain(worker)
    if not handed:
        slot.leave_group()
