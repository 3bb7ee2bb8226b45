"""Seeded generator of fault-injection test modules (see tests/test_faultinject.py).

``generate(seed)`` returns a ``Spec``: a few test classes whose tests mix every
outcome unittest knows with the faults a test can do to its loop and its peers
(cancelling itself or every task, stopping the loop, blocking, leaking a task,
swallowing its cancellation, patching shared state, changing warning filters),
with fixtures at every level, some of them failing, and hook overrides.
``Spec.source(variant)`` renders the same tests four ways:

- ``std``: plain ``unittest.IsolatedAsyncioTestCase`` classes, the reference
  (stock unittest ignores the ``aiounit.timeout`` marks);
- ``au``: the same on ``aiounit.AsyncTestCase``, no groups;
- ``lt``: ``aiounit.AsyncTestCase``, ``from aiounit import load_tests``, and an
  unnamed ``@aiounit.group()`` on some classes;
- ``grp``: ``aiounit.AsyncTestCase`` and one named group across all classes,
  sometimes with a ``max_concurrency``.

Every fixture and hook call is logged with ``tests._fi_state.log``, and the
module ends with a probe test that records the process state between groups.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    """What a test method does."""

    body: tuple[str, ...]
    sync: bool = False
    limit: float | None = None  # its @aiounit.timeout
    # The outcome the contract gives it wherever aiounit enforces its limit
    # (docs/usage.md, "Time limits"): a TestTimeoutError, where stock passes.
    times_out: bool = False
    # What it does to the members of its group: "cancel" (every peer),
    # "block" (the loop, past a peer's limit).
    disrupts: str | None = None
    # A warning a group must report for it (docs/diagnostics.md).
    warning: str | None = None
    cost: float = 0.0  # seconds it takes under stock unittest
    decorator: str | None = None


_YIELD = "await asyncio.sleep(0)"

KINDS: dict[str, Kind] = {
    # Slow kinds first: CI seeds deal the kinds out round robin (see must_include).
    "swallow_forever": Kind(
        (
            "deadline = time.monotonic() + 0.25",
            "while time.monotonic() < deadline:",
            "    try:",
            "        await asyncio.sleep(max(0.0, deadline - time.monotonic()))",
            "    except asyncio.CancelledError:",
            "        fi.log('body:swallowed', self)",
        ),
        limit=0.05,
        times_out=True,
        cost=0.25,
    ),
    "block_past_limit": Kind(
        ("time.sleep(0.25)", _YIELD),
        limit=0.05,
        times_out=True,
        disrupts="block",
        cost=0.25,
    ),
    # 0.25 s: the watchdog samples every 25 ms, so it may see a little less than the block.
    "block": Kind(("time.sleep(0.25)", _YIELD), disrupts="block", warning="blocked", cost=0.25),
    "swallow_once": Kind(
        (
            "try:",
            "    await asyncio.sleep(0.12)",
            "except asyncio.CancelledError:",
            "    fi.log('body:swallowed', self)",
            f"    {_YIELD}",
        ),
        limit=0.05,
        times_out=True,
        cost=0.12,
    ),
    "victim": Kind(("await asyncio.sleep(0.05)",), cost=0.05),
    # A limit it keeps: 0.3 s, so that a child starved of the CPU for a while
    # (the suite runs fault injection beside other tests) still passes.
    "short_limit": Kind(("await asyncio.sleep(0.01)",), limit=0.3, cost=0.01),
    "self_cancel": Kind(
        ("asyncio.current_task().cancel()", _YIELD, "fi.log('body:after-cancel', self)")
    ),
    "loop_stop": Kind(("asyncio.get_running_loop().stop()", _YIELD)),
    "cancel_peers": Kind(
        (
            "for _ in range(3):",
            f"    {_YIELD}",
            "me = asyncio.current_task()",
            "for task in asyncio.all_tasks():",
            "    if task is not me:",
            "        task.cancel()",
            _YIELD,
        ),
        disrupts="cancel",
    ),
    "leak": Kind(
        (
            "async def leaked():",
            "    try:",
            "        await asyncio.sleep(10)",
            "    finally:",
            "        fi.log('leak-finally', '{name}')",
            "self.fi_leaked = asyncio.create_task(leaked(), name='leak-{name}')",
            _YIELD,
        ),
        warning="left",
    ),
    "patch_ctx": Kind(
        (
            "with mock.patch.object(fi, 'SHARED', 'patched-{name}'):",
            "    for _ in range(3):",
            f"        {_YIELD}",
        )
    ),
    "patch_deco": Kind(
        ("for _ in range(2):", f"    {_YIELD}"),
        decorator="@mock.patch.object(fi, 'SHARED', 'deco-{name}')",
    ),
    "patch_cleanup": Kind(
        ("self.enterContext(mock.patch.object(fi, 'SHARED', 'cleanup-{name}'))", _YIELD)
    ),
    "patch_env": Kind(
        (
            "with mock.patch.dict(os.environ, {{'FI_ENV': '{name}'}}):",
            "    for _ in range(3):",
            f"        {_YIELD}",
        )
    ),
    "assert_warns": Kind(
        (
            "with self.assertWarns(UserWarning):",
            f"    {_YIELD}",
            "    warnings.warn('{name}', UserWarning)",
            f"    {_YIELD}",
        )
    ),
    "ignore_warnings": Kind(
        (
            "with warnings.catch_warnings():",
            "    warnings.simplefilter('ignore')",
            "    for _ in range(3):",
            f"        {_YIELD}",
        )
    ),
    "warn": Kind((_YIELD, "warnings.warn('fi warning from {name}', UserWarning)", _YIELD)),
    "assert_logs": Kind(
        (
            "with self.assertLogs('fi.logs', 'INFO') as cm:",
            f"    {_YIELD}",
            "    logging.getLogger('fi.logs').info('{name}')",
            f"    {_YIELD}",
            "self.assertEqual(cm.output, ['INFO:fi.logs:{name}'])",
        )
    ),
    "subtests": Kind(
        (
            "for i in range(5):",
            "    with self.subTest(i=i):",
            f"        {_YIELD}",
            "        if i == 1:",
            "            self.assertEqual(i, 0)",
            "        if i == 2:",
            "            raise KeyError(i)",
            "        if i == 3:",
            "            self.skipTest('subtest skipped')",
        )
    ),
    "turn_between_parts": Kind(
        (
            "loop = asyncio.get_running_loop()",
            "self.fi_ready = loop.create_future()",
            "loop.call_soon(self.fi_ready.set_result, None)",
        )
    ),
    "gc_finished_task": Kind(
        (
            "task = asyncio.create_task(asyncio.sleep(0))",
            "await task",
            "self.fi_weak = weakref.ref(task)",
            "del task",
        )
    ),
    # docs/diagnostics.md: the stdlib only logs it, so a group warns (issue 15 item 19).
    "callback_error": Kind(
        ("asyncio.get_running_loop().call_soon(lambda: 1 / 0)", _YIELD, _YIELD),
        warning="raised in the event loop",
    ),
    "orphan_task_error": Kind(
        (
            "async def orphan():",
            "    raise KeyError('orphan of {name}')",
            "asyncio.create_task(orphan())",
            _YIELD,
            _YIELD,
        )
    ),
    "prints": Kind(
        (
            "print('stdout of {name}')",
            _YIELD,
            "print('stderr of {name}', file=sys.stderr)",
            "logging.getLogger('fi.logs').warning('log of {name}')",
        )
    ),
    "pass": Kind((_YIELD,)),
    "fail": Kind((_YIELD, "self.assertEqual('{name}', 'something else')")),
    "error": Kind((_YIELD, "raise ValueError('{name}')")),
    "skip_inside": Kind((_YIELD, "self.skipTest('skipped inside {name}')")),
    "sync_pass": Kind(("fi.log('body:sync', self)",), sync=True),
    "sync_fail": Kind(("self.assertEqual(1, 2)",), sync=True),
    "sync_asyncio_run": Kind(("self.assertEqual(asyncio.run(asyncio.sleep(0, 7)), 7)",), sync=True),
    # Sync members run on threads in the "grp" variant: capture must be thread-safe.
    "sync_assert_logs": Kind(
        (
            "for i in range(100):",
            "    with self.assertLogs('fi.logs', 'INFO') as cm:",
            "        logging.getLogger('fi.logs').info('{name} %d', i)",
            "    self.assertEqual(cm.output, [f'INFO:fi.logs:{name} {{i}}'])",
        ),
        sync=True,
    ),
    "sync_assert_warns": Kind(
        (
            "for i in range(100):",
            "    with self.assertWarns(UserWarning):",
            "        warnings.warn('{name}', UserWarning)",
        ),
        sync=True,
    ),
}

# Per-test fixture faults, and where each one strikes.
FAULTS = (
    "setUp_raise",
    "asyncSetUp_raise",
    "asyncSetUp_cancel",
    "asyncSetUp_skip",
    "asyncTearDown_raise",
    "tearDown_raise",
    "cleanup_raise",
    "async_cleanup_raise",
    "async_cleanup_cancel",
)
HOOKS = ("doCleanups", "run", "sync_asyncSetUp")
_PLAIN_FAULTS = ("setUp_raise", "tearDown_raise", "cleanup_raise")


@dataclass
class TestSpec:
    cls: int
    name: str
    kind: str
    wrapper: str = ""  # "", "xfail" or "skip"
    faults: tuple[str, ...] = ()


@dataclass
class ClassSpec:
    index: int
    tests: list[TestSpec] = field(default_factory=list)
    setup_class: str = ""  # "", "raise" or "skip"
    teardown_class_raise: bool = False
    class_cleanup_raise: bool = False
    hooks: tuple[str, ...] = ()
    lt_grouped: bool = False  # gets @aiounit.group() in the "lt" variant
    plain: bool = (
        False  # a plain unittest.TestCase of sync tests (whole tests on threads in a group)
    )

    @property
    def name(self) -> str:
        return f"TestC{self.index}"


@dataclass
class Spec:
    seed: int
    classes: list[ClassSpec]
    setup_module_raise: bool = False
    teardown_module_raise: bool = False
    max_concurrency: int | None = None
    werror: bool = False
    buffer: bool = False  # run with -b

    def tests(self) -> list[TestSpec]:
        return [t for c in self.classes for t in c.tests]

    def class_of(self, test: TestSpec) -> ClassSpec:
        return next(c for c in self.classes if c.index == test.cls)

    def kinds(self) -> set[str]:
        return {t.kind for t in self.tests()}

    def group_of(
        self, test: TestSpec, mode_variant: str, default_group: bool, *, marked: bool = False
    ) -> str | None:
        """The group *test* runs in when this module runs that way, or None.

        With *marked*, the group it is put in, even if it cannot run in it.
        """
        cls = self.class_of(test)
        if not marked and not cls.plain and {"run", "doCleanups"} & set(cls.hooks):
            # docs/design.md: a member whose class overrides how unittest drives
            # its tests (run, doCleanups) runs alone, before the rest of its
            # group, calling every hook, still bounded by its time limit.
            return None
        if mode_variant == "grp":
            return "fi"  # sync methods are marked one by one: they run on threads
        if cls.plain:
            if mode_variant == "lt" and self.class_of(test).lt_grouped:
                return f"class {test.cls}"
            return None  # --default-group leaves plain TestCases alone
        if KINDS[test.kind].sync:
            return None  # sync methods of an IsolatedAsyncioTestCase stay out of class groups
        if default_group:
            return f"class {test.cls}"
        if mode_variant == "lt" and self.class_of(test).lt_grouped:
            return f"class {test.cls}"
        return None

    def source(self, variant: str) -> str:
        return _render(self, variant)


def ci_share(index: int, count: int) -> tuple[list[str], list[str], list[str]]:
    """The kinds, faults and hooks dealt to the *index*-th of *count* CI seeds.

    Dealt round robin, so that *count* seeds together cover every one of them,
    and the slow kinds (first in ``KINDS``) are spread over the seeds.
    """
    return list(KINDS)[index::count], list(FAULTS)[index::count], list(HOOKS)[index::count]


def generate(
    seed: int,
    ci: tuple[int, int] | None = None,
    *,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> Spec:
    """The module of *seed*.

    With *ci* = (index, count), one of *count* CI seeds: it holds its share of
    every kind, fault and hook (``ci_share``) plus a few fast random tests.
    Otherwise (a soak seed) every choice is random, within a time budget.
    Kinds, faults and hooks named in *exclude* are left out.
    """
    rng = random.Random(seed)
    kinds: list[str] = []
    faults: list[str] = []
    hooks: list[str] = []
    if ci is not None:
        kinds, faults, hooks = ci_share(*ci)
        kinds = [k for k in kinds if k not in exclude]
        faults = [f for f in faults if f not in exclude]
        hooks = [h for h in hooks if h not in exclude]
        pool = [k for k, v in KINDS.items() if v.cost <= 0.05 and k not in exclude]
        kinds += [rng.choice(pool) for _ in range(rng.randint(3, 5))]
    else:
        pool = [k for k in KINDS if k not in exclude]
        budget = 0.8  # seconds of the stock run
        for _ in range(rng.randint(6, 16)):
            kind = rng.choice(pool)
            if KINDS[kind].cost <= budget:
                budget -= KINDS[kind].cost
                kinds.append(kind)
    rng.shuffle(kinds)
    n_classes = rng.randint(1, 3)
    classes = [ClassSpec(i) for i in range(n_classes)]
    for cls in classes:
        roll = rng.random()
        cls.setup_class = "raise" if roll < 0.07 else "skip" if roll < 0.1 else ""
        cls.teardown_class_raise = rng.random() < 0.1
        cls.class_cleanup_raise = rng.random() < 0.07
        cls.hooks = tuple(
            h
            for h in HOOKS
            if rng.random() < (0.06 if h == "sync_asyncSetUp" else 0.25) and h not in exclude
        )
        cls.lt_grouped = rng.random() < 0.7
    for number, kind in enumerate(kinds):
        cls = rng.choice(classes)
        name = f"test_{cls.index}{number:02d}_{kind}"
        kind_spec = KINDS[kind]
        test = TestSpec(cls.index, name, kind)
        # Kinds whose outcome the contract changes stay clean, so that the
        # expected outcome is simply "stock's, but timed out".
        if not kind_spec.times_out and not kind_spec.disrupts:
            roll = rng.random()
            test.wrapper = "xfail" if roll < 0.1 else "skip" if roll < 0.14 else ""
            test.faults = tuple(f for f in FAULTS if rng.random() < 0.06 and f not in exclude)
        cls.tests.append(test)
    if ci is not None:
        plain = [
            t
            for c in classes
            for t in c.tests
            if not t.wrapper
            and t.kind in ("pass", "fail", "error", "subtests", "victim", "sync_pass", "sync_fail")
        ]
        for fault in faults:
            if plain:
                target = rng.choice(plain)
                target.faults = tuple(sorted(set(target.faults) | {fault}))
            else:
                extra = TestSpec(0, f"test_0{len(kinds):02d}_pass", "pass", faults=(fault,))
                kinds.append("pass")
                classes[0].tests.append(extra)
                plain.append(extra)
    if ci is not None:
        # Forced hooks go on the class with the most async tests, set up fine.
        host = max(classes, key=lambda c: sum(not KINDS[t.kind].sync for t in c.tests))
        host.setup_class = ""
        host.hooks = tuple(sorted(set(host.hooks) | set(hooks) - {"sync_asyncSetUp"}))
    if (ci is not None and ci[0] < 2) or (ci is None and rng.random() < 0.5):
        sync_class = ClassSpec(
            max(c.index for c in classes) + 1, plain=True, lt_grouped=rng.random() < 0.7
        )
        sync_class.hooks = tuple(
            h for h in ("doCleanups", "run") if h not in exclude and rng.random() < 0.3
        )
        sync_kinds = [k for k, v in KINDS.items() if v.sync and k not in exclude]
        for n in range(rng.randint(2, 4)):
            kind = rng.choice(sync_kinds)
            test = TestSpec(
                sync_class.index, f"test_{sync_class.index}{len(kinds) + n:02d}_{kind}", kind
            )
            test.faults = tuple(f for f in _PLAIN_FAULTS if rng.random() < 0.1 and f not in exclude)
            sync_class.tests.append(test)
        classes.append(sync_class)
    if "sync_asyncSetUp" in hooks:
        # It fails every test of its class: give it a class of its own.
        odd = ClassSpec(max(c.index for c in classes) + 1, hooks=("sync_asyncSetUp",))
        odd.tests.append(TestSpec(odd.index, f"test_{odd.index}{len(kinds):02d}_pass", "pass"))
        classes.append(odd)
    spec = Spec(
        seed=seed,
        classes=[c for c in classes if c.tests],
        setup_module_raise=rng.random() < 0.04 and ci is None,
        teardown_module_raise=rng.random() < 0.08,
        max_concurrency=rng.choice([None, None, None, 2, 3]),
        werror=rng.random() < 0.3,
        buffer=rng.random() < 0.3,
    )
    if ci is not None:
        spec.werror = ci[0] == 1
        spec.buffer = ci[0] == 2
        spec.max_concurrency = (2, None, 3)[ci[0] % 3]
    return spec


_HEADER = '''\
"""Generated by tests/_faultgen.py: seed {seed}, variant {variant}."""

import asyncio
import gc
import logging
import os
import sys
import time
import unittest
import warnings
import weakref
from unittest import mock

import aiounit
from tests import _fi_state as fi
{load_tests}
logging.getLogger("fi.logs")  # exists before the run, so its state is fingerprinted


def setUpModule():
    fi.log("setUpModule")
    unittest.addModuleCleanup(fi.log, "moduleCleanup")
    {setup_module_raise}


def tearDownModule():
    fi.log("tearDownModule")
    {teardown_module_raise}


def _raise(where, name):
    fi.log(where, name)
    raise RuntimeError(f"{{where}} of {{name}}")


async def _araise(where, name):
    fi.log(where, name)
    await asyncio.sleep(0)
    raise RuntimeError(f"{{where}} of {{name}}")


async def _acancel(where, name):
    fi.log(where, name)
    asyncio.current_task().cancel()
    await asyncio.sleep(0)
'''

_CLASS = """

{decorator}class {name}({base}):
    FAULTS = {faults!r}

    @classmethod
    def setUpClass(cls):
        fi.log("setUpClass", "{name}")
        cls.addClassCleanup(fi.log, "classCleanup", "{name}")
        {class_cleanup_raise}
        {setup_class}

    @classmethod
    def tearDownClass(cls):
        fi.log("tearDownClass", "{name}")
        {teardown_class_raise}

    def setUp(self):
        fi.log("setUp", self)
        faults = self.FAULTS.get(self._testMethodName, ())
        self.addCleanup(fi.log, "cleanup", self._testMethodName)
        if "cleanup_raise" in faults:
            self.addCleanup(_raise, "cleanup_raise", self._testMethodName)
        if "async_cleanup_raise" in faults:
            self.addAsyncCleanup(_araise, "async_cleanup_raise", self._testMethodName)
        if "async_cleanup_cancel" in faults:
            self.addAsyncCleanup(_acancel, "async_cleanup_cancel", self._testMethodName)
        if "setUp_raise" in faults:
            raise RuntimeError("setUp of " + self._testMethodName)

{async_setup}{async_teardown}    def tearDown(self):
        fi.log("tearDown", self)
        if "tearDown_raise" in self.FAULTS.get(self._testMethodName, ()):
            raise RuntimeError("tearDown of " + self._testMethodName)
{hooks}{tests}"""

_ASYNC_TEARDOWN = """\
    async def asyncTearDown(self):
        fi.log("asyncTearDown", self)
        ready = getattr(self, "fi_ready", None)
        if ready is not None and not ready.done():
            self.fail("a callback made ready by the test had not run when asyncTearDown began")
        weak = getattr(self, "fi_weak", None)
        if weak is not None:
            gc.collect()
            self.assertIsNone(weak(), "a finished task of the test is still alive in asyncTearDown")
        await asyncio.sleep(0)
        if "asyncTearDown_raise" in self.FAULTS.get(self._testMethodName, ()):
            raise RuntimeError("asyncTearDown of " + self._testMethodName)

"""

_ASYNC_SETUP = """\
    async def asyncSetUp(self):
        fi.log("asyncSetUp", self)
        faults = self.FAULTS.get(self._testMethodName, ())
        await asyncio.sleep(0)
        if "asyncSetUp_raise" in faults:
            raise RuntimeError("asyncSetUp of " + self._testMethodName)
        if "asyncSetUp_cancel" in faults:
            asyncio.current_task().cancel()
            await asyncio.sleep(0)
        if "asyncSetUp_skip" in faults:
            self.skipTest("asyncSetUp skipped " + self._testMethodName)
"""

_SYNC_ASYNC_SETUP = """\
    def asyncSetUp(self):  # a hook override that is not a coroutine function
        fi.log("asyncSetUp", self)
"""

_HOOKS = {
    "doCleanups": """
    def doCleanups(self):
        fi.log("doCleanups", self)
        return super().doCleanups()
""",
    "run": """
    def run(self, result=None):
        fi.log("run", self)
        return super().run(result)
""",
}

_PROBE = '''

class TestZzProbe(unittest.TestCase):
    """Runs alone after every group: the state a later test finds."""

    def test_probe(self):
        fi.probe()
        self.assertEqual(fi.SHARED, fi.ORIGINAL)
        self.assertNotIn("FI_ENV", os.environ)
'''


def _render(spec: Spec, variant: str) -> str:
    base = "unittest.IsolatedAsyncioTestCase" if variant == "std" else "aiounit.AsyncTestCase"
    out = [
        _HEADER.format(
            seed=spec.seed,
            variant=variant,
            load_tests="from aiounit import load_tests  # noqa: F401\n" if variant == "lt" else "",
            setup_module_raise='raise RuntimeError("setUpModule")'
            if spec.setup_module_raise
            else "",
            teardown_module_raise='raise RuntimeError("tearDownModule")'
            if spec.teardown_module_raise
            else "",
        )
    ]
    for cls in spec.classes:
        decorator = ""
        if variant == "grp":
            cap = f", max_concurrency={spec.max_concurrency}" if spec.max_concurrency else ""
            decorator = f'@aiounit.group("fi"{cap})\n'
        elif variant == "lt" and cls.lt_grouped:
            decorator = "@aiounit.group()\n"
        setup_class = ""
        if cls.setup_class == "raise":
            setup_class = f'raise RuntimeError("setUpClass of {cls.name}")'
        elif cls.setup_class == "skip":
            setup_class = f'raise unittest.SkipTest("setUpClass skips {cls.name}")'
        hooks = "".join(_HOOKS[h] for h in cls.hooks if h in _HOOKS)
        out.append(
            _CLASS.format(
                decorator=decorator,
                name=cls.name,
                base="unittest.TestCase" if cls.plain else base,
                faults={t.name: t.faults for t in cls.tests if t.faults},
                setup_class=setup_class,
                class_cleanup_raise=(
                    f'cls.addClassCleanup(_raise, "classCleanup_raise", "{cls.name}")'
                    if cls.class_cleanup_raise
                    else ""
                ),
                teardown_class_raise=(
                    f'raise RuntimeError("tearDownClass of {cls.name}")'
                    if cls.teardown_class_raise
                    else ""
                ),
                async_setup=""
                if cls.plain
                else _SYNC_ASYNC_SETUP
                if "sync_asyncSetUp" in cls.hooks
                else _ASYNC_SETUP,
                async_teardown="" if cls.plain else _ASYNC_TEARDOWN,
                hooks=hooks,
                tests="".join(
                    _render_test(t, decorator.strip() if variant == "grp" else "")
                    for t in cls.tests
                ),
            )
        )
    out.append(_PROBE)
    return "".join(out)


def _render_test(test: TestSpec, group: str) -> str:
    kind = KINDS[test.kind]
    lines = [""]
    if test.wrapper == "xfail":
        lines.append("@unittest.expectedFailure")
    elif test.wrapper == "skip":
        lines.append(f'@unittest.skip("skipped by decorator: {test.name}")')
    if kind.sync and group:
        lines.append(group)
    if kind.limit is not None:
        lines.append(f"@aiounit.timeout({kind.limit})")
    if kind.decorator:
        lines.append(kind.decorator.format(name=test.name))
    lines.append(f"{'' if kind.sync else 'async '}def {test.name}(self):")
    lines.extend("    " + line.format(name=test.name) for line in kind.body)
    return textwrap.indent("\n".join(lines), "    ") + "\n"
