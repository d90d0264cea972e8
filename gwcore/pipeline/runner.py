"""Walks one request through its compiled steps: inbound, backend, outbound, then on-error on failure.

A step is a function of the context. What it returns is one of the statuses below, and
nothing else; the runner never builds anything per request beyond the Run itself.
Steps that must wait hand back an awaitable (or WAIT, having arranged a callback); only
then does the request continue from a callback, and a Task is created only for a
coroutine — a Future is simply given a done-callback.
"""
import asyncio

import orjson

from gwcore.pipeline.errors import LastError, PolicyError

CONTINUE = None
"""Go on with the next step. A step that returns nothing continues."""


class _Status:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


RESPOND = _Status("RESPOND")
"""Stop here: context.response is the answer (return-response, mock-response, a CORS preflight).
The rest of the pipeline, outbound included, is skipped, as APIM does."""

WAIT = _Status("WAIT")
"""The step has arranged for Run.resume(status) or Run.fail(error) to be called later
(forward-request: when the backend's answer is in)."""

# An int n jumps n steps ahead (or back, when negative): how choose and retry are laid flat.

INBOUND, BACKEND, OUTBOUND, ON_ERROR, DONE = range(5)
SECTION_NAMES = ("inbound", "backend", "outbound", "on-error", "")


class Step:
    """A step written as a class (gwcore/pipeline/compiled_steps.py): the Run calls its run()
    directly, which the compiled build makes a C call. Any function of the context is a step too."""

    __slots__ = ()

    def run(self, ctx):
        raise NotImplementedError

    def __call__(self, ctx):
        return self.run(ctx)


NO_ORIGIN = ("", "", "")
"""The origin of a step no statement made, or of an error raised outside any step."""


class Program:
    """The flat steps of one pipeline, per section, and what the exchange must do for them."""

    __slots__ = ("sections", "origins", "request_body", "response_body", "forwards", "preflight", "streams")

    def __init__(self, inbound: tuple, backend: tuple, outbound: tuple, on_error: tuple,
                 request_body: bool, response_body: bool, forwards: bool, preflight: "Program" = None,
                 origins: tuple = ((), (), (), ())):
        self.sections = (inbound, backend, outbound, on_error)
        # Per section, parallel to its steps: (scope, path, policy_id) of the statement that made
        # each step. Read only when a step fails, so the steps themselves carry nothing extra.
        self.origins = origins
        self.request_body = request_body    # read the whole request body before inbound runs
        self.response_body = response_body  # read the whole backend body before outbound runs
        self.forwards = forwards            # some step sends the request to the backend
        self.preflight = preflight          # what answers a CORS preflight: the cors steps only
        # Nothing runs after the backend answers (the backend section is one plain
        # forward-request, outbound is empty): its answer streams back as on a plain
        # operation, with the headers inbound steps added (CORS, RateLimit).
        self.streams = (not outbound and len(backend) == 1 and getattr(backend[0], "plain_forward", False)
                        and not response_body)


class Run:
    """The position of one request in its Program; driven by the exchange's callbacks."""

    __slots__ = ("program", "ctx", "section", "pc", "host", "loop", "waiting")

    def __init__(self, program: Program, ctx, host, loop):
        self.program = program
        self.ctx = ctx
        self.host = host            # the exchange: send_response(ctx), send_error(error)
        self.loop = loop
        self.section = INBOUND
        self.pc = -1                # the step whose status is applied next
        self.waiting = None         # the awaitable a step handed back, while it is pending
        ctx._run = self

    def start(self) -> None:
        self._advance(CONTINUE)

    def resume(self, status=CONTINUE) -> None:
        """A waiting step is done: go on as if it had returned `status`."""
        if self.section != DONE:
            self._advance(status)

    def fail(self, error: BaseException) -> None:
        """Leave for on-error (or, from on-error itself, for the default error reply)."""
        self.waiting = None
        if not isinstance(error, PolicyError):
            error = _internal(error)
        if self.section >= ON_ERROR or not self.program.sections[ON_ERROR]:
            self.section = DONE
            return self.host.send_error(error)
        ctx = self.ctx
        origins = self.program.origins[self.section]
        pc = self.pc   # the failing step; -1 when the error came before any step (no key, no route)
        scope, path, policy_id = origins[pc] if 0 <= pc < len(origins) else NO_ORIGIN
        ctx.last_error = LastError(error.source, error.reason, error.last_message,
                                   SECTION_NAMES[self.section], error.status, scope, path, policy_id)
        ctx.response._replace(error.status, error_body(error), headers=error.headers)
        self.section, self.pc = ON_ERROR, -1
        self._advance(CONTINUE)

    def _advance(self, status) -> None:
        ctx = self.ctx
        while True:
            steps = self.program.sections[self.section]
            pc = self.pc
            while True:
                if status is CONTINUE:
                    pc += 1
                elif type(status) is int:
                    pc += status
                elif status is RESPOND:
                    self.section = DONE
                    return self.host.send_response(ctx)
                elif status is WAIT:
                    self.pc = pc
                    return
                else:
                    self.pc = pc
                    return self._wait(status)
                if pc >= len(steps):
                    break
                step = steps[pc]
                try:
                    if isinstance(step, Step):
                        compiled = step   # typed in runner.pxd: run() is a C call
                        status = compiled.run(ctx)
                    else:
                        status = step(ctx)
                except Exception as exc:  # noqa: BLE001 - any failure of a step is an on-error
                    self.pc = pc
                    return self.fail(exc)
            if self.section < OUTBOUND:       # inbound -> backend -> outbound
                self.section, self.pc, status = self.section + 1, -1, CONTINUE
                continue
            self.section = DONE               # after outbound, or after on-error
            return self.host.send_response(ctx)

    def _wait(self, awaitable) -> None:
        if not asyncio.isfuture(awaitable):
            awaitable = asyncio.ensure_future(awaitable, loop=self.loop)
        self.waiting = awaitable
        awaitable.add_done_callback(self._waited)

    def _waited(self, future) -> None:
        if future is not self.waiting or self.section == DONE:
            return  # the request failed or ended meanwhile
        self.waiting = None
        try:
            status = future.result()
        except Exception as exc:  # noqa: BLE001
            return self.fail(exc)
        self._advance(status)

    def abandon(self) -> None:
        """The client is gone: nothing more is run or sent."""
        self.section = DONE
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.cancel()


def _internal(error: BaseException) -> PolicyError:
    reason = getattr(error, "reason", None) or "InternalError"
    message = str(error) or type(error).__name__
    status = 500
    wrapped = PolicyError(status, message, reason, source=getattr(error, "source", "") or "")
    wrapped.__cause__ = error
    return wrapped


def error_body(error: PolicyError) -> bytes:
    """APIM's error reply body: {"statusCode": N, "message": "..."}."""
    return orjson.dumps({"statusCode": error.status, "message": error.message})


class Branch:
    """Runs a nested list of steps on its own (one child of `wait`): same statuses as a Run,
    without sections. `start()` gives CONTINUE or RESPOND when the steps finish at once,
    else a Future that resolves to one of them (or to the error that stopped them)."""

    __slots__ = ("steps", "ctx", "loop", "pc", "future")

    def __init__(self, steps: tuple, ctx, loop):
        self.steps = steps
        self.ctx = ctx
        self.loop = loop
        self.pc = -1
        self.future = None

    def start(self):
        return self._advance(CONTINUE)

    def _advance(self, status):
        steps, ctx, pc = self.steps, self.ctx, self.pc
        while True:
            if status is CONTINUE:
                pc += 1
            elif type(status) is int:
                pc += status
            elif status is RESPOND:
                return self._done(RESPOND)
            elif status is WAIT:
                raise RuntimeError("a statement that hands the request on cannot run inside wait")
            else:
                self.pc = pc
                if not asyncio.isfuture(status):
                    status = asyncio.ensure_future(status, loop=self.loop)
                status.add_done_callback(self._waited)
                if self.future is None:
                    self.future = self.loop.create_future()
                return self.future
            if pc >= len(steps):
                return self._done(CONTINUE)
            status = steps[pc](ctx)

    def _waited(self, done) -> None:
        if self.future.done():
            return  # cancelled: wait for="any" had its answer
        try:
            status = done.result()
            self._advance(status)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the branch
            self.future.set_exception(exc)

    def _done(self, status):
        if self.future is None:
            return status
        if not self.future.done():
            self.future.set_result(status)
        return self.future
