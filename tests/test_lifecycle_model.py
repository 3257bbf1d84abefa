"""Issues 14 and 15: random interleavings of the booking lifecycle's events, driven through the real
pipeline (Maildir in and out, the database), on to reconfirmation, the event's start and
attendance, and checked after every step against a small model (tests/lifecycle_model.py).

Two tests run the one machine: from bookings opening, and from the reconfirmation window with
places taken and people waiting (few random runs of the first get that far). Each prints how
many of its examples reached the rarer mails (`-s` shows it).

A failure prints the seed it ran with; rerun exactly that with
`LIFECYCLE_SEED=<seed> .venv/bin/pytest tests/test_lifecycle_model.py -k "<test> and sqlite"`
(Hypothesis also prints a @reproduce_failure blob and the shrunk steps)."""

from __future__ import annotations

import os
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import seed as use_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from jinja2 import Environment
from sqlalchemy import Engine

from mailbot.pipeline.poll import Mailbot
from mailbot.pipeline.reconfirm import reconfirm_and_release
from mailbot.pipeline.retention import forget
from mailbot.store.database import connect
from tests.harness import FIXED_NOW, Reply, Workspace, compose
from tests.lifecycle_model import (
    EVENT,
    LAST_OUTCOMES,
    ORGANISER_ADDRESS,
    Model,
    Truth,
    empty_database,
    mails_since,
    read_truth,
)

OFFICERS = (
    ("Ann Lee", "ann.lee@lancashire.police.uk"),
    ("Ben Moss", "ben.moss@lancashire.police.uk"),
    ("Cara Nash", "cara.nash@cumbria.police.uk"),
    ("Dev Owen", "dev.owen@cumbria.police.uk"),
    ("Ella Pike", "ella.pike@westmidlands.police.uk"),
    ("Finn Quinn", "finn.quinn@westmidlands.police.uk"),
)
OUTSIDERS = (("Gita Reid", "gita.reid@gmail.com"), ("Hugo Shaw", "hugo.shaw@gmail.com"))
PEOPLE = OFFICERS + OUTSIDERS
NAMES = dict((address, name) for name, address in PEOPLE)
ORGANISER = f"Forum Organiser <{ORGANISER_ADDRESS}>"
STARTS = datetime.fromisoformat("2099-03-10T11:00:00+00:00")  # London keeps GMT in March
RECONFIRM = "5d"
ASK_AT = STARTS - timedelta(days=5)
RECONFIRM_HOURS = 48
RELEASE_AT = ASK_AT + timedelta(hours=RECONFIRM_HOURS)

_TEMPLATES: list[Environment] = []

# The rarer ends of the lifecycle: run() prints how many examples reached each (pytest -s).
_RARE = ("promoted", "reconfirm", "released", "certificate")

SETTINGS = settings(
    max_examples=int(os.environ.get("LIFECYCLE_EXAMPLES", "20")),
    stateful_step_count=int(os.environ.get("LIFECYCLE_STEPS", "50")),
    deadline=None,
    print_blob=True,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class Lifecycle(RuleBasedStateMachine):
    """One booking inbox; each rule is one thing that happens to it, then a poll."""

    def __init__(self, database_url: str, engine: Engine, reached: Counter[str]) -> None:
        super().__init__()
        self.reached: set[str] = set()
        self.reached_counts = reached
        empty_database(engine)
        self.engine = engine
        self.tmp = tempfile.TemporaryDirectory(prefix="lifecycle-")
        self.ws = Workspace(Path(self.tmp.name), capacity=2, database_url=database_url)
        self.ws.config.write_text(
            self.ws.config.read_text().replace(
                "[[events]]",
                # Far more replies than a day of steps writes: the limit is not under test.
                f'[booking]\nwaitlist_offer_hours = 24\nreconfirm = "{RECONFIRM}"\n'
                f"reconfirm_hours = {RECONFIRM_HOURS}\n\n"
                "[limits]\nreplies_per_address_per_day = 1000\n\n[[events]]",
            )
            + "certificate = true\n"  # the event is the file's last table
        )
        self.model = Model(capacity=2, now=FIXED_NOW)
        self.seen: set[str] = set()  # the outbox's files already read
        self.bot: Mailbot | None = None
        self.truth = Truth(rows=(), capacity=2)

    def teardown(self) -> None:
        self.reached_counts.update(self.reached | {"examples"})
        if self.bot is not None:
            self.bot.close()
        self.tmp.cleanup()

    def _bot(self) -> Mailbot:
        """One bot for the example, as the service keeps one; its clock is the model's."""
        if self.bot is None:
            self.bot = self.ws.bot(clock=self._now)
            self.bot.deliver_every_seconds = float("inf")  # send once all is read
            if _TEMPLATES:
                self.bot.templates = _TEMPLATES[0]  # compiled once for all the examples
            else:
                _TEMPLATES.append(self.bot.templates)
        return self.bot

    def _now(self) -> datetime:
        assert self.model.now is not None
        return self.model.now

    # -- the events -------------------------------------------------------------------------

    @initialize(
        capacity=st.integers(min_value=1, max_value=2),
        early=st.lists(st.sampled_from(OFFICERS), max_size=4, unique=True),
    )
    def open_bookings(self, capacity: int, early: list[tuple[str, str]]) -> None:
        """Bookings open; a few officers book at once, so that most examples have places
        taken and people waiting when the reconfirmation window opens."""
        self.ws.config.write_text(
            self.ws.config.read_text().replace("capacity = 2", f"capacity = {capacity}")
        )
        self.model.capacity = capacity
        self.truth = Truth(rows=(), capacity=capacity)
        for person in early:
            self._request(person, verified=True, colleagues=[])

    @precondition(lambda self: self._before_start())
    @rule(
        person=st.sampled_from(PEOPLE),
        verified=st.booleans(),
        colleagues=st.lists(st.sampled_from(OFFICERS), max_size=2, unique=True),
    )
    def request(
        self, person: tuple[str, str], verified: bool, colleagues: list[tuple[str, str]]
    ) -> None:
        self._request(person, verified, colleagues)

    def _request(
        self, person: tuple[str, str], verified: bool, colleagues: list[tuple[str, str]]
    ) -> None:
        name, address = person
        if address in self.model.erased:
            return
        named = [(n, a) for n, a in colleagues if a != address and a not in self.model.erased]
        if named:
            lines = "".join(f"DC {n} {a}\n" for n, a in named)
            body = f"Please book me a place, and could you also book my colleagues:\n{lines}\n"
        else:
            body = "Please book me a place.\n\n"
        body += f"Thanks\nPC {name}\n"
        self.model.log.append(f"request {address} verified={verified} colleagues={named}")
        self._mail(
            compose(f"{name} <{address}>", body, message_id=self._id(), authenticated=verified)
        )
        guarded = set()
        if not verified or address.endswith("@gmail.com"):
            guarded = {a for _, a in named}
        self._settle(guarded=guarded)

    @precondition(lambda self: self._before_start())
    @rule(person=st.sampled_from(PEOPLE), verified=st.booleans())
    def cancel(self, person: tuple[str, str], verified: bool) -> None:
        name, address = person
        if address in self.model.erased:
            return
        self.model.log.append(f"cancel {address} verified={verified}")
        self._mail(
            compose(
                f"{name} <{address}>",
                "Sorry, I can no longer attend.",
                subject="Cancel",
                message_id=self._id(),
                authenticated=verified,
            )
        )
        self._settle()

    def _can_thank(self) -> list[str]:
        return sorted(
            a
            for a in self.model.last_message_id
            if a not in self.model.erased and self.truth.state_of(a) != "offered"
        )

    @precondition(lambda self: self._can_thank())
    @rule(data=st.data())
    def acknowledge(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(self._can_thank()), label="thanks from")
        self.model.log.append(f"thanks from {address}")
        last = self.model.last_message_id[address]
        self._mail(
            compose(
                f"{NAMES[address]} <{address}>",
                "Thanks!",
                subject="Re: your booking",
                message_id=self._id(),
                in_reply_to=last,
            )
        )
        self._settle(acknowledgement=True)

    def _refs(self, *statuses: str) -> list[str]:
        # In the order they were made: refs are random, and what is drawn must not be.
        return [r.ref for r in sorted(self.truth.rows, key=lambda r: r.id) if r.status in statuses]

    @precondition(lambda self: self._before_start() and self._refs("held"))
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        self._command(f"APPROVE {data.draw(st.sampled_from(self._refs('held')), label='ref')}")

    @precondition(
        lambda self: self._before_start() and self._refs("held", "confirmed", "waitlisted")
    )
    @rule(data=st.data(), verb=st.sampled_from(["DECLINE", "CANCEL"]))
    def end(self, data: st.DataObject, verb: str) -> None:
        live = self._refs("held", "confirmed", "waitlisted")
        self._command(f"{verb} {data.draw(st.sampled_from(live), label='ref')}")

    @precondition(lambda self: self._before_start())
    @rule(person=st.sampled_from(PEOPLE))
    def add(self, person: tuple[str, str]) -> None:
        name, address = person
        if address not in self.model.erased:
            self._command(f"ADD {address} {name}")

    @precondition(lambda self: self._before_start())
    @rule(places=st.integers(min_value=0, max_value=3))
    def capacity(self, places: int) -> None:
        self.model.capacity = places
        self._command(f"CAPACITY {EVENT} {places}")

    @rule(hours=st.sampled_from([1, 23, 25, 48]))
    def time_passes(self, hours: float) -> None:
        """Offers lapse after 24 hours; a poll notices at its start. From the reconfirmation
        window on, the service's reminder job also runs (and may release places); it runs
        every ten minutes, so time never passes the moment places are due for release
        without it running then."""
        if self._asked() and self._now() < RELEASE_AT < self._now() + timedelta(hours=hours):
            hours = (RELEASE_AT - self._now()).total_seconds() / 3600
        self.model.log.append(f"{hours} hours pass")
        self._settle(hours=hours, act=self._poll_and_reconfirm if self._asked() else None)

    # -- reconfirmation and the event --------------------------------------------------------

    def _before_start(self) -> bool:
        # Requests and changes after the start get a "closed" answer; the model stops there.
        return self._now() < STARTS

    def _asked(self) -> bool:
        return self._now() >= ASK_AT

    @precondition(lambda self: not self._asked())
    @rule()
    def reconfirm_window(self) -> None:
        """Jump to five days before the start; the reminder job sends the requests."""
        self.model.log.append("the reconfirmation window opens")
        # A poll first, at the new time: offers lapse there, as in time_passes, so the mails
        # of the lapse and of the requests are told apart, and no later poll lapses them.
        self._settle(hours=(ASK_AT - self._now()).total_seconds() / 3600)
        self.model.requests_due = True
        self._settle(act=self._reconfirm)

    def _reconfirm(self) -> None:
        bot = self._bot()
        reconfirm_and_release(
            bot.store, bot.handling(), self._now(), offset=RECONFIRM, hours=RECONFIRM_HOURS
        )
        bot.deliver()

    def _poll_and_reconfirm(self) -> None:
        self._bot().poll()
        self._reconfirm()

    def _awaiting_yes(self) -> list[str]:
        """Those asked to reconfirm who have not said yes and still hold their place."""
        return sorted(
            r.email
            for r in self.truth.rows
            if r.status == "confirmed"
            and r.email not in self.model.erased
            and self.truth.marks[r.ref].asked
            and not self.truth.marks[r.ref].reconfirmed
            and r.email in self.model.last_message_id
        )

    @precondition(lambda self: self._before_start() and self._awaiting_yes())
    @rule(data=st.data())
    def say_yes(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(self._awaiting_yes()), label="yes from")
        self.model.log.append(f"yes from {address}")
        ref = self.truth.live(address)
        self._mail(
            compose(
                f"{NAMES[address]} <{address}>",
                "Yes, I am still coming.",
                subject="Re: please reconfirm",
                message_id=self._id(),
                in_reply_to=self.model.last_message_id[address],
            )
        )
        self._settle(acknowledgement=True)
        assert ref is not None and self.truth.marks[ref.ref].reconfirmed, (
            f"the yes from {address} was not recorded"
        )

    def _can_fall_silent(self) -> bool:
        return (
            self._asked()
            and self._now() < RELEASE_AT + timedelta(hours=1)
            and bool(self._awaiting_yes())
        )

    @precondition(lambda self: self._can_fall_silent())
    @rule(late=st.sampled_from([-1, 0, 1]))
    def silence(self, late: int) -> None:
        """Nobody answers until an hour before the reconfirmation hours are up, the moment
        they are, or an hour after; places are released only from then on, and only to
        someone waiting. (time_passes reaches the same moments by chance.)"""
        deadline = RELEASE_AT + timedelta(hours=late)
        hours = max(0.0, (deadline - self._now()).total_seconds() / 3600)
        self.model.log.append(f"silence until {RECONFIRM_HOURS + late} hours after the requests")
        self._settle(hours=hours, act=self._poll_and_reconfirm)

    @precondition(lambda self: self._asked() and self._before_start())
    @rule(minutes=st.sampled_from([0, 90]))
    def event_starts(self, minutes: int) -> None:
        if self._now() < RELEASE_AT:
            # The reminder job runs at the moment places are due for release, on the way;
            # a step of its own, so each step's mails are told apart.
            self.model.log.append("the release moment passes")
            self._settle(
                hours=(RELEASE_AT - self._now()).total_seconds() / 3600,
                act=self._poll_and_reconfirm,
            )
        self.model.log.append(f"the event started {minutes} minutes ago")
        moment = STARTS + timedelta(minutes=minutes)
        hours = (moment - self._now()).total_seconds() / 3600
        self._settle(hours=hours, act=self._poll_and_reconfirm)

    @precondition(lambda self: self.truth.rows)
    @rule(data=st.data(), verb=st.sampled_from(["ATTENDED", "ABSENT"]))
    def attendance(self, data: st.DataObject, verb: str) -> None:
        refs = [r.ref for r in sorted(self.truth.rows, key=lambda r: r.id)]
        # Any booking, held places as often as all the rest: most of what the organiser
        # records is about people who hold one.
        confirmed = self._refs("confirmed")
        either = st.sampled_from(refs) | st.sampled_from(confirmed) if confirmed else None
        ref = data.draw(either or st.sampled_from(refs), label="ref")
        before = self.truth
        self._command(f"{verb} {ref}")
        row, mark = before.by_ref(ref), before.marks[ref]
        assert row is not None
        now = self.truth.marks.get(ref)
        if self._now() < STARTS or row.status != "confirmed":
            assert now == mark, f"{verb} {ref} ({row.status}) changed attendance: {mark} -> {now}"
        else:
            assert now is not None and now.attended is (verb == "ATTENDED"), (
                f"{verb} {ref} recorded {now}"
            )

    @precondition(lambda self: self._erasable())
    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        address = data.draw(st.sampled_from(self._erasable()), label="erase")
        self.model.log.append(f"forget {address}")
        self.model.erased.add(address)
        self._settle(act=lambda: self._forget(address))

    def _erasable(self) -> list[str]:
        return sorted(a for _, a in PEOPLE if a not in self.model.erased)

    def _forget(self, address: str) -> None:
        bot = self._bot()
        forget(bot.store, bot.handling(), address, self._now())
        bot.deliver()  # as `mailbot forget` does: whoever got the place is told

    # -- doing a step and reading what it did --------------------------------------------------

    def _id(self) -> str:
        return f"<step{self.model.step}-{len(self.model.log)}@example.test>"

    def _mail(self, data: bytes) -> None:
        self.ws.deliver(data)

    def _command(self, text: str) -> None:
        self.model.log.append(f"organiser: {text}")
        self._mail(
            compose(ORGANISER, f"{text}\n\nThanks", subject="Re: digest", message_id=self._id())
        )
        self._settle()

    def _settle(
        self,
        *,
        hours: float = 0,
        act: Callable[[], None] | None = None,
        guarded: set[str] | None = None,
        acknowledgement: bool = False,
    ) -> None:
        model = self.model
        assert model.now is not None
        model.step += 1
        # Only time_passes moves the clock, so an offer never lapses in the poll of another
        # step (an acknowledgement's poll must send nothing at all).
        model.now += timedelta(hours=hours)
        before = self.truth
        if act is not None:
            act()
        else:
            self._bot().poll()
        replies = mails_since(self.ws.outbox_path, self.seen)
        after = read_truth(self.engine)
        steps = "\n  ".join(model.log)
        where = (
            f"after the steps:\n  {steps}\nbefore it: {before.summary()}\n"
            f"after it: {after.summary()}\nmails: {[(r.to, r.outcome) for r in replies]}"
        )

        people = Counter(r.to for r in replies if r.to != ORGANISER_ADDRESS)
        twice = [to for to, n in people.items() if n > 1]
        assert not twice, f"more than one mail in one step to {twice}, {where}"
        to_erased = sorted(set(people) & model.erased)
        assert not to_erased, f"mail sent to erased {to_erased}, {where}"
        if acknowledgement:
            assert not people, f"an acknowledgement was answered: {dict(people)}, {where}"
            assert after.rows == before.rows, f"an acknowledgement changed bookings, {where}"
        for address in guarded or ():
            mine = [r for r in before.rows if r.email == address]
            now_mine = [r for r in after.rows if r.email == address]
            assert now_mine == mine, f"{address} booked by an unverified/ineligible sender, {where}"
            assert address not in people, f"{address} written to for an unverified sender, {where}"
        assert after.capacity == model.capacity, f"capacity {after.capacity}, {where}"
        self._check_places(before, after, where)
        self._check_reconfirmation(before, after, replies, where)
        self._check_attendance(before, after, replies, where)
        self.reached |= {r.outcome for r in replies} & set(_RARE)
        model.heard(replies)
        model.moved(before, after)
        self.truth = after

    def _check_places(self, before: Truth, after: Truth, where: str) -> None:
        holding, held_before = after.holding(), before.holding()
        new = holding - held_before
        if new:
            assert len(holding) <= after.capacity, (
                f"{sorted(new)} took a place: {len(holding)} hold places of {after.capacity}, "
                f"{where}"
            )
        assert len(holding) <= max(after.capacity, len(held_before)), where
        waiting = {r.ref: r.email for r in before.waitlist() if not r.offered}
        promoted = [waiting[ref] for ref in new if ref in waiting]
        still = [r.email for r in after.waitlist() if not r.offered]
        if promoted and still:
            last_promoted = max(self.model.joined[e] for e in promoted)
            # Someone who joined in this very step is not in the model's list yet.
            first_waiting = min(self.model.joined.get(e, self.model.step) for e in still)
            assert last_promoted <= first_waiting, (
                f"{promoted} were passed a place ahead of {still}, who joined earlier, {where}"
            )

    def _check_reconfirmation(
        self, before: Truth, after: Truth, replies: list[Reply], where: str
    ) -> None:
        now = self._now()
        asked = [r for r in replies if r.outcome == "reconfirm"]
        for reply in asked:
            row = before.by_ref(reply.booking)
            assert reply.booking is not None and row is not None, where
            assert row.status == "confirmed" and row.email == reply.to, (
                f"{reply.to} asked to reconfirm {reply.booking}, which was {row}, {where}"
            )
            assert reply.booking not in self.model.asked, (
                f"{reply.to} asked to reconfirm {reply.booking} twice, {where}"
            )
            self.model.asked[reply.booking] = now
        if asked or self.model.requests_due:
            # The requests go out once, when the window opens, to every booking confirmed
            # at that moment (even none); those confirmed later are never asked.
            self.model.requests_due = False
            confirmed = {r.ref for r in before.rows if r.status == "confirmed"}
            assert {r.booking for r in asked} == confirmed, (
                f"asked {[r.to for r in asked]}, confirmed were {sorted(confirmed)}, {where}"
            )
        released = [r for r in replies if r.outcome == "released"]
        waiting = [r for r in before.waitlist() if not r.offered]
        assert len(released) <= len(waiting), (
            f"{len(released)} released for {len(waiting)} waiting, {where}"
        )
        for reply in released:
            ref = reply.booking
            row, mark, ended = before.by_ref(ref), before.marks.get(ref or ""), after.by_ref(ref)
            when = self.model.asked.get(ref or "")
            assert row is not None and row.status == "confirmed" and mark is not None, where
            assert when is not None and now - when >= timedelta(hours=RECONFIRM_HOURS), (
                f"{ref} released, asked at {when}, now {now}, {where}"
            )
            assert not mark.reconfirmed, f"{ref} released after a yes, {where}"
            assert ended is not None and ended.status == "cancelled", f"{ended}, {where}"

    def _check_attendance(
        self, before: Truth, after: Truth, replies: list[Reply], where: str
    ) -> None:
        for ref, mark in after.marks.items():
            was = before.marks.get(ref)
            if was is None or was.attended == mark.attended:
                continue
            row = before.by_ref(ref)
            assert self._now() >= STARTS, f"attendance of {ref} changed before the start, {where}"
            assert row is not None and row.status == "confirmed", (
                f"attendance recorded for {row}, {where}"
            )
            if mark.attended and not was.certificate:
                # The event gives certificates: whoever is first recorded as having come
                # gets theirs in the same step.
                got = [r for r in replies if r.outcome == "certificate" and r.booking == ref]
                assert got, f"{row.email} came and got no certificate, {where}"
        for reply in replies:
            if reply.outcome != "certificate":
                continue
            came = after.marks.get(reply.booking or "")
            assert came is not None and came.attended is True, (
                f"certificate to {reply.to} for {reply.booking} ({came}), {where}"
            )
            sent = self.model.certificates.get(reply.to, 0) + 1
            self.model.certificates[reply.to] = sent
            assert sent == 1, f"{reply.to} got {sent} certificates, {where}"

    # -- what must hold after every step -------------------------------------------------------

    @invariant()
    def waitlist_in_joining_order(self) -> None:
        joined = [(self.model.joined.get(r.email, -1), r.email) for r in self.truth.waitlist()]
        order = [step for step, _ in joined]
        assert order == sorted(order), f"waitlist {joined} not in joining order"

    @invariant()
    def no_told_position_got_worse(self) -> None:
        for row in self.truth.waitlist():
            told = self.model.told_position.get(row.email)
            now = self.truth.position(row.email)
            assert told is None or (now is not None and now <= told), (
                f"{row.email} was told number {told} and is now number {now}"
            )

    @invariant()
    def last_mail_matches_state(self) -> None:
        for _, address in PEOPLE:
            if address in self.model.erased:
                continue
            state = self.truth.state_of(address)
            last = self.model.last_outcome.get(address)
            if state == "none" and last is None:
                continue
            assert last is not None, f"{address} is {state} and was never told"
            about = self.truth.by_ref(self.model.last_booking.get(address))
            live = self.truth.live(address)
            if live is None and about is not None:
                # Ended: the mail is about the booking that ended last, or restates an
                # earlier refusal (an outsider asking again is not recorded twice).
                state = "offered" if about.offered else about.status
            elif live is not None:
                assert about == live, f"{address} holds {live.ref}, last told of {about}"
            assert last in LAST_OUTCOMES[state], f"{address} is {state}, last told {last!r}"

    @invariant()
    def erased_hold_nothing(self) -> None:
        for row in self.truth.rows:
            assert row.email not in self.model.erased, f"{row} still names an erased person"

    @invariant()
    def no_place_stands_empty_while_someone_waits(self) -> None:
        waiting = [r.email for r in self.truth.waitlist() if not r.offered]
        free = self.truth.capacity - len(self.truth.holding())
        assert not (waiting and free > 0), f"{free} place(s) free while {waiting} wait"


class FromTheReconfirmationWindow(Lifecycle):
    """The same machine with places taken, people waiting and the requests out before the first
    step: in Lifecycle few examples get that far, here most reach releases, the start and
    attendance."""

    @initialize(
        capacity=st.integers(min_value=1, max_value=2),
        early=st.lists(st.sampled_from(OFFICERS), min_size=2, max_size=4, unique=True),
    )
    def open_bookings(self, capacity: int, early: list[tuple[str, str]]) -> None:
        super().open_bookings(capacity, early)
        self.reconfirm_window()


def run(database_url: str, machine: type[Lifecycle]) -> None:
    engine = connect(database_url)
    chosen = os.environ.get("LIFECYCLE_SEED")
    seed = int(chosen) if chosen else random.randrange(2**32)
    reached: Counter[str] = Counter()

    def factory() -> Lifecycle:
        return machine(database_url, engine, reached)

    try:
        # The factory need not be the class itself: Hypothesis only calls it.
        run_state_machine_as_test(use_seed(seed)(factory), settings=SETTINGS)  # type: ignore[arg-type]
    except BaseException as exc:
        exc.add_note(f"rerun with LIFECYCLE_SEED={seed} (see this module's docstring)")
        print(f"lifecycle model test failed with seed {seed}")
        raise
    finally:
        engine.dispose()
        shares = ", ".join(f"{outcome} {reached[outcome]}" for outcome in _RARE)
        print(f"of {reached['examples']} examples, these reached: {shares}")


def test_the_booking_lifecycle_follows_the_model(database_url: str) -> None:
    run(database_url, Lifecycle)


def test_reconfirmation_and_attendance_follow_the_model(database_url: str) -> None:
    run(database_url, FromTheReconfirmationWindow)
