"""Narrow speed fixes for the moto version the embedded AWS runs, applied where its server runs.

Why: profiled under a 2,000-event burst (``py-spy``), the local stack spent most of its time in three
places of moto that cost in proportion to things that have nothing to do with the request:

* **SQS, per message received: the whole queue's attributes, three times.** ``receive_message`` checks
  each message's retention through ``get_queue_attributes(["MessageRetentionPeriod"])``, which builds
  every attribute — including the three approximate counts, each a scan of the whole queue that reads
  the clock (two ``datetime`` constructions) once per message — and does so three times. A receive of
  10 at a depth of 2,500 made ~200,000 clock reads: 0.5-2 s per ReceiveMessage. Every SendMessage (so
  every fan-out of an SNS Publish) builds the attributes once more, to read ``ContentBasedDeduplication``.
* **SQS, per message deleted: a scan that allocates.** ``Message.had_receipt_handle`` builds a new list
  of the message's receipt handles for every message of the queue, twice per DeleteMessage.
* **Every request: a directory listing.** The server's dispatcher asks ``list_of_moto_modules()`` —
  ``os.listdir`` of moto's package plus an ``isdir`` per entry, ~150 system calls — on each request,
  under its one dispatch lock.

* **Every request: the action looked up, expressions parsed again.** moto lists the response class's
  methods (``inspect.getmembers``) to find each request's action, parses each UpdateExpression and
  tokenises each ConditionExpression anew, although clients send the same few again and again.

* **Every request: random ids one call per character; every UpdateItem: ten walks asking their node
  types at every node.** moto draws request ids, receipt handles and SES message ids with one
  ``random.choice`` per character (:func:`_draw` makes the same draws inline), and its expression
  walker rebuilds its tuple of node types at each node (:func:`_traverse` asks once per walk).
* **Every request: the same names converted, a class made.** moto converts its action and SQS
  attribute names from camel case character by character each time (remembered by name:
  :func:`_cached_camelcase`), and Flask's debug mode, which moto's apps run in, makes a new subclass
  of the request's ``files`` dict per request (one per class: :func:`_attach_enctype_error_multidict`).

And one fix that is about correctness, needed once the local stack polls a queue from two threads:

* **ReceiveMessage was not atomic.** moto selects messages with no lock, so two receives at once could
  both take one message (:func:`_atomic_receive`).

The fixes keep moto's logic and change only how the same answer is computed:

* the retention check reads the queue's ``message_retention_period`` directly (the value
  ``get_queue_attributes`` returned);
* ``Queue.messages`` and the approximate counts read the clock once per scan, not once per message, and
  compare the same fields with the same operators as ``Message.visible`` / ``Message.delayed`` (a message
  is visible when now > ``visible_at``, delayed when now < ``delayed_until``);
* ``had_receipt_handle`` compares without building a list;
* the list of moto's modules is read once (the installed package does not change while it runs);
* a class's method names are listed once; an UpdateExpression's parse tree and a ConditionExpression's
  tokens are remembered by the expression's text (both depend on nothing else; moto deep-copies the
  tree before it substitutes values, and builds new nodes from the tokens);
* a receive's selection pass runs under a lock, its long poll outside it.

Receive order, visibility timeouts, receive counts, redrive to the DLQ after ``maxReceiveCount``,
retention, FIFO groups and deduplication are untouched: tests/integration/test_moto_speedups.py checks
them at depth against the same calls on stock moto. The fixes are written for one moto version
(:data:`WRITTEN_FOR`): on any other they are not applied (stock moto runs, slower, and a warning says
so), and a test fails so whoever upgrades moto re-reads moto's code and re-pins.
"""

from __future__ import annotations

import logging
import random
import string
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import flask.debughelpers
import moto
from moto import backends
from moto.core import responses as core_responses
from moto.core import utils as core_utils
from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb import comparisons
from moto.dynamodb.parsing import ast_nodes, expressions
from moto.moto_api._internal import mock_random, moto_random
from moto.ses import utils as ses_utils
from moto.sns import models as sns_models
from moto.sqs import models as sqs_models
from moto.sqs import utils as sqs_utils

log = logging.getLogger(__name__)
_ast: Any = ast_nodes  # moto's module is untyped

#: The moto release whose code these fixes were read against (requirements.lock pins it).
WRITTEN_FOR = "5.2.5"

_lock = threading.Lock()
_applied = False


def applicable() -> bool:
    """Whether the installed moto is the one the fixes were written for."""
    return str(moto.__version__) == WRITTEN_FOR


def applied() -> bool:
    return _applied


def apply() -> bool:
    """Install the fixes in this process (idempotent); False, with a warning, on another moto version."""
    global _applied
    with _lock:
        if _applied:
            return True
        if not applicable():
            log.warning(
                "moto %s is not the version the embedded AWS's speed fixes were written for (%s): "
                "running stock moto, whose SQS slows down as queues fill",
                moto.__version__,
                WRITTEN_FOR,
            )
            return False
        _patch()
        _applied = True
        return True


def _visible_now(queue: Any) -> list[Any]:
    """``Queue.messages``: the messages neither in flight nor delayed, oldest first (one clock read)."""
    now = unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _count_delayed(queue: Any) -> int:
    now = unix_time_millis()
    return sum(1 for m in queue._messages if now < m.delayed_until)


def _count_not_visible(queue: Any) -> int:
    now = unix_time_millis()
    return sum(1 for m in queue._messages if not now > m.visible_at)


def _count_visible(queue: Any) -> int:
    return len(_visible_now(queue))


def _had_receipt_handle(message: Any, receipt_handle: str) -> bool:
    return bool(receipt_handle == message.receipt_handle or receipt_handle in message._old_receipt_handles)


def _is_message_valid_based_on_retention_period(backend: Any, queue_name: str, message: Any) -> bool:
    retention_period = backend.get_queue(queue_name).message_retention_period
    retain_until = retention_period + message.sent_timestamp / 1000
    return bool(retain_until > unix_time())


#: One selection pass of a ReceiveMessage at a time (any queue): see :func:`_atomic_receive`.
_receive_lock = threading.Lock()


def _atomic_receive(stock: Any) -> Any:
    """``SQSBackend.receive_message`` whose selection of messages is atomic.

    Why: moto selects messages with no lock — it reads each message's visibility, then marks it received
    — so two ReceiveMessage calls at once can both take the same message (seen with two pollers of one
    queue: the second DeleteMessage failed with ``ReceiptHandleIsInvalid``), which SQS does not do. Here
    each selection pass is moto's own (``stock`` with no wait: one pass over the queue) under one lock,
    and a long poll waits *outside* the lock, as moto's loop does (``wait_for_messages(1)`` until a
    message is there or the wait is over), so a poll that waits never holds other receivers up.
    """

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = self.get_queue(queue_name)
        polling_end = unix_time() + wait_seconds_timeout
        while True:
            with _receive_lock:
                result: list[Any] = stock(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            if result or not wait_seconds_timeout or unix_time() > polling_end:
                return result
            queue.wait_for_messages(1)

    return receive_message


def _remembered(stock: Callable[[Any], Any], limit: int) -> Callable[[Any], Any]:
    """``stock`` of one hashable argument, each answer kept by its argument once computed: at most
    ``limit`` of them (later arguments are computed every time), so a client sending ever new values
    cannot grow the server's memory without bound. For the functions whose answer depends on the
    argument alone and is never changed by its callers."""
    cache: dict[Any, Any] = {}

    def remembered(argument: Any) -> Any:
        answer = cache.get(argument)
        if answer is None:
            answer = stock(argument)
            if len(cache) < limit:
                cache[argument] = answer
        return answer

    return remembered


def _cached_method_names(stock: Any) -> Any:
    """``method_names_from_class``: moto lists a response class's methods (``inspect.getmembers``) on every
    request to look the action up; a class's methods do not change while the server runs."""
    cache: dict[type, list[str]] = {}

    def method_names_from_class(clazz: type) -> list[str]:
        names = cache.get(clazz)
        if names is None:
            names = cache[clazz] = list(stock(clazz))
        return list(names)

    return method_names_from_class


def _cached_update_parse(stock: Any) -> Any:
    """``UpdateExpressionParser.make``: the parse of an UpdateExpression depends on its text alone (the
    names and values are substituted later, by a validator that works on a deep copy of the tree), and a
    client sends the same few expressions again and again (Powertools' idempotency writes)."""
    parse = _remembered(stock, _EXPRESSION_CACHE)

    def make(cls: Any, expression: str) -> Any:
        return parse(expression)

    return classmethod(make)


def _cached_condition_lex(stock: Any) -> Any:
    """``ConditionExpressionParser._lex_condition_expression``: the tokens of a ConditionExpression depend
    on its text alone (immutable named tuples); the parse that follows builds new nodes from them."""
    cache: dict[str, tuple[Any, ...]] = {}

    def lex(self: Any) -> Any:
        expression = self.condition_expression
        tokens = cache.get(expression)
        if tokens is None:
            tokens = tuple(stock(self))
            if len(cache) < _EXPRESSION_CACHE:
                cache[expression] = tokens
        return deque(tokens)

    return lex


#: At most this many distinct expressions are remembered (a client building them from data is not
#: allowed to grow the server's memory without bound).
_EXPRESSION_CACHE = 1024


def _traverse(self: Any, node: Any) -> Any:
    """``DepthFirstTraverser.traverse`` asking once per traversal which node types it processes.

    Why: moto's traversal calls ``nodes_to_be_processed()`` at every node of the tree — a new dict from
    ``_processing_map()`` and a tuple of its keys — and an UpdateItem runs ten traversals over its tree
    (the validators); with the deep copy before them, the validation was about a seventh of moto's
    process in a paced profile. Every ``_processing_map`` of moto's returns the same classes each call
    (a literal of classes to bound methods) and none overrides ``nodes_to_be_processed``, so the tuple
    is the same at every node; the walk — order, ``pre_processing_of_child``, ``process``, the parent
    links — is moto's line for line (``traverse_node_recursively``).
    """
    types = self.nodes_to_be_processed()
    node_class = _ast.Node
    pre = self.pre_processing_of_child
    process = self.process

    def walk(node: Any, child_id: int = -1) -> Any:
        if isinstance(node, node_class):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    pre(node, i)
                    walk(child_node, i)
            if isinstance(node, types):
                node = process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    return walk(node)


def _draw(rnd: random.Random, pool: str, length: int) -> str:
    """``"".join(rnd.choice(pool) for _ in range(length))``, drawing the very same numbers.

    Why: moto makes every request id (52 characters), SQS receipt handle (185) and SES message id (54)
    one ``choice`` at a time — two Python calls and a ``getrandbits`` per character, ~5 % of moto's
    process. ``Random.choice`` is ``pool[_randbelow(len(pool))]`` and ``_randbelow`` (with
    ``getrandbits``, as MotoRandom has it: :func:`_random_is_stock`) draws ``getrandbits(k)`` for
    ``k = len(pool).bit_length()`` until one is below ``len(pool)``: that loop, here inline. Same draws
    in the same order, so a seeded moto (``/moto-api/seed``) makes the same ids as before.
    """
    size = len(pool)
    if not size:
        raise IndexError("Cannot choose from an empty sequence")
    bits, k = rnd.getrandbits, size.bit_length()
    out = []
    for _ in range(length):
        r = bits(k)
        while r >= size:
            r = bits(k)
        out.append(pool[r])
    return "".join(out)


def _random_is_stock() -> bool:
    """Whether MotoRandom chooses as :func:`_draw` assumes (CPython's ``choice`` over ``getrandbits``)."""
    cls: Any = moto_random.MotoRandom
    stock: Any = random.Random
    return bool(
        cls.choice is stock.choice
        and cls._randbelow is stock._randbelow_with_getrandbits
        and cls.getrandbits is stock.getrandbits
    )


def _get_random_string(
    self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False
) -> str:
    """``MotoRandom.get_random_string`` through :func:`_draw`."""
    pool = string.ascii_letters
    if include_digits:
        pool += string.digits
    random_str = _draw(self, pool, length)
    return random_str.lower() if lower_case else random_str


def _generate_receipt_handle() -> str:
    """``moto.sqs.utils.generate_receipt_handle`` through :func:`_draw`."""
    return _draw(mock_random, string.ascii_lowercase, 185)


def _random_hex(length: int) -> str:
    """``moto.ses.utils.random_hex`` through :func:`_draw` (lower-case letters, despite its name)."""
    return _draw(mock_random, string.ascii_lowercase, length)


def _cached_camelcase(stock: Any) -> Any:
    """``moto.core.utils.camelcase_to_underscores``, remembered by its argument.

    Why: moto converts the same few names character by character on every request — the action
    (``call_action``), and every SQS queue attribute each time a queue's ``attributes`` are built (each
    SendMessage, so each SNS fan-out): ~2.5 % of moto's process. The conversion depends on the string
    alone. At most :data:`_CAMELCASE_CACHE` names are kept; anything but a non-empty ``str`` goes to
    moto's own.
    """
    convert = _remembered(stock, _CAMELCASE_CACHE)

    def camelcase_to_underscores(argument: str) -> str:
        if type(argument) is not str or not argument:
            return stock(argument)  # type: ignore[no-any-return]
        return convert(argument)  # type: ignore[no-any-return]

    return camelcase_to_underscores


_CAMELCASE_CACHE = 4096

#: One debug subclass per ``request.files`` class (see :func:`_attach_enctype_error_multidict`).
_enctype_classes: dict[type, type] = {}


def _attach_enctype_error_multidict(request: Any) -> None:
    """``flask.debughelpers.attach_enctype_error_multidict`` with one subclass per class, not per request.

    Why: moto's Flask apps run in debug mode, and in debug mode Flask gives every request that is not
    ``multipart/form-data`` — every AWS call — a new subclass of its ``files`` dict, made by a ``class``
    statement per request, whose ``__getitem__`` explains a missing upload better (``DebugFilesKeyError``
    when the key was sent as a form field): ~3 % of moto's process. Here the subclass is made once per
    original class and finds the request on the instance, where Flask's finds it in its closure: the
    same class name and module, the same ``KeyError`` or ``DebugFilesKeyError`` for the same keys.
    """
    files = request.files
    if not hasattr(files, "__dict__"):
        STOCK["attach_enctype_error_multidict"](request)
        return
    oldcls = files.__class__
    newcls = _enctype_classes.get(oldcls)
    if newcls is None:
        newcls = _enctype_classes.setdefault(oldcls, _enctype_subclass(oldcls))
    files.__dict__["_moviepipe_debug_request"] = request
    files.__class__ = newcls


def _enctype_subclass(oldcls: type) -> type:
    error: Any = flask.debughelpers.DebugFilesKeyError

    class newcls(oldcls):  # type: ignore[misc]
        def __getitem__(self, key: str) -> Any:
            try:
                return super().__getitem__(key)
            except KeyError as e:
                request = self.__dict__["_moviepipe_debug_request"]
                if key not in request.form:
                    raise
                raise error(request, key).with_traceback(e.__traceback__) from None

    newcls.__name__ = oldcls.__name__
    newcls.__module__ = oldcls.__module__
    return newcls


#: What the fixes replace, as moto defines it (for the equivalence tests).
STOCK: dict[str, Any] = {}


def _patch() -> None:
    queue, message, backend = sqs_models.Queue, sqs_models.Message, sqs_models.SQSBackend
    update_parser: Any = getattr(expressions, "UpdateExpressionParser")  # noqa: B009 - moto's module is untyped
    condition_parser: Any = comparisons.ConditionExpressionParser
    responses: Any = core_responses
    STOCK.update(
        messages=queue.messages,
        approximate_number_of_messages=queue.approximate_number_of_messages,
        approximate_number_of_messages_delayed=queue.approximate_number_of_messages_delayed,
        approximate_number_of_messages_not_visible=queue.approximate_number_of_messages_not_visible,
        had_receipt_handle=message.had_receipt_handle,
        is_message_valid_based_on_retention_period=backend.is_message_valid_based_on_retention_period,
        list_of_moto_modules=backends.list_of_moto_modules,
        receive_message=backend.receive_message,
        method_names_from_class=responses.method_names_from_class,
        update_expression_make=update_parser.make,
        condition_lex=condition_parser._lex_condition_expression,
        traverse=_ast.DepthFirstTraverser.traverse,
        get_random_string=moto_random.MotoRandom.get_random_string,
        generate_receipt_handle=sqs_utils.generate_receipt_handle,
        random_hex=ses_utils.random_hex,
        camelcase_to_underscores=core_utils.camelcase_to_underscores,
        attach_enctype_error_multidict=flask.debughelpers.attach_enctype_error_multidict,
    )
    camelcase = _cached_camelcase(core_utils.camelcase_to_underscores)
    users: tuple[Any, ...] = (core_utils, responses, sqs_models, sns_models)
    for module in users:
        module.camelcase_to_underscores = camelcase
    flask.debughelpers.attach_enctype_error_multidict = _attach_enctype_error_multidict
    _ast.DepthFirstTraverser.traverse = _traverse
    if _random_is_stock():
        moto_random.MotoRandom.get_random_string = _get_random_string  # type: ignore[method-assign]
        sqs_utils.generate_receipt_handle = _generate_receipt_handle
        sqs_models.generate_receipt_handle = _generate_receipt_handle  # type: ignore[attr-defined]
        ses_utils.random_hex = _random_hex
    responses.method_names_from_class = _cached_method_names(responses.method_names_from_class)
    update_parser.make = _cached_update_parse(update_parser.make)
    condition_parser._lex_condition_expression = _cached_condition_lex(
        condition_parser._lex_condition_expression
    )
    backend.receive_message = _atomic_receive(backend.receive_message)  # type: ignore[method-assign]
    queue.messages = property(_visible_now)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages = property(_count_visible)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages_delayed = property(_count_delayed)  # type: ignore[assignment,method-assign]
    queue.approximate_number_of_messages_not_visible = property(_count_not_visible)  # type: ignore[assignment,method-assign]
    message.had_receipt_handle = _had_receipt_handle  # type: ignore[assignment,method-assign]
    backend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period  # type: ignore[assignment,method-assign]
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    backends.list_of_moto_modules = list_of_moto_modules
