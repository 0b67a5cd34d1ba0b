#!/usr/bin/env python3
"""Regenerate the labelled demo corpus: 24 scripted B2B sales calls for Brightline Forecast.

Writes, deterministically (fixed seed):
  examples/scripts/call_NN.txt   role-labelled dialogue, `[mm:ss] REP: text` (also a valid winloss transcript)
  examples/calls/call_NN.opus    the call spoken by flite and festival voices (rep and customer distinct speakers);
                                 even calls stereo (rep left, customer right), odd calls mono
  examples/labels.jsonl          ground truth: every objection (category, answered or not), competitor
                                 mention (who said it) and message use (delivered/paraphrased/contradicted),
                                 with the line it is on and that line's start/end in the audio
  examples/calls.csv, examples/deals.csv   the manifest and the CRM export

Needs Debian's flite, festival, festvox-us-slt-hts, sox and ffmpeg (libopus).
Run: `make corpus` or `python examples/make_corpus.py`.

The corpus holds planted patterns for the report to find: Quotient comes up mostly in lost deals; the
forecast_accuracy message is used mostly in won deals; price objections are answered in wins and brushed off in
losses; five messages are contradicted; three calls carry no objection; reps name Pipewise unprompted twice.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RATE = 16000
SEED = 20261124

# ---------------------------------------------------------------------------------------------- the scenarios
# msgs: message_id -> D(elivered) | P(araphrased) | C(ontradicted); objs: category -> H(andled) | U(nhandled)
# comps: (competitor, who) where who is "c" (customer) or "r" (rep, unprompted)
M = {"live": "live_in_two_weeks", "acc": "forecast_accuracy", "crm": "native_crm", "sec": "security_certified",
     "team": "team_pricing", "pay": "payback_six_months"}


@dataclass
class Spec:
    n: int
    outcome: str
    rep: str
    msgs: list[tuple[str, str]]
    objs: list[tuple[str, str]]
    comps: list[tuple[str, str]] = field(default_factory=list)
    deal: str | None = None


SPECS = [
    Spec(1, "won", "Maya", [("acc", "D"), ("live", "D"), ("crm", "P")], [("price", "H")]),
    Spec(2, "won", "Maya", [("acc", "D"), ("pay", "P"), ("team", "D")], [("timing", "H")], [("Salesbridge", "c")]),
    Spec(3, "lost", "Tom", [("live", "C"), ("crm", "D")], [("price", "U"), ("integration", "U")], [("Quotient", "c")]),
    Spec(4, "won", "Priya", [("acc", "P"), ("sec", "D")], [("security", "H")]),
    Spec(5, "lost", "Luis", [("team", "D")], [("price", "U")], [("Quotient", "c")]),
    Spec(6, "won", "Luis", [("acc", "D"), ("live", "D")], []),
    Spec(7, "lost", "Tom", [("pay", "C")], [("need", "U"), ("price", "U")], [("Quotient", "c")]),
    Spec(8, "won", "Priya", [("acc", "D"), ("team", "P")], [("price", "H"), ("authority", "H")], [("Quotient", "c")]),
    Spec(9, "lost", "Priya", [("crm", "D")], [("competitor", "U")], [("Quotient", "c")]),
    Spec(10, "open", "Maya", [("live", "D"), ("sec", "P")], [("authority", "H")]),
    Spec(11, "won", "Maya", [("acc", "P"), ("crm", "D")], [("integration", "H")], [("Pipewise", "r")]),
    Spec(12, "lost", "Luis", [("sec", "C")], [("security", "U")], [("Salesbridge", "c")]),
    Spec(13, "won", "Luis", [("acc", "D"), ("pay", "D")], [("price", "H")]),
    Spec(14, "lost", "Tom", [("live", "C"), ("team", "D")], [("timing", "U")], [("Quotient", "c")]),
    Spec(15, "won", "Priya", [("acc", "D"), ("live", "P")], [], [("Salesbridge", "c")]),
    Spec(16, "open", "Tom", [("crm", "P")], [("need", "U")], [("Pipewise", "c")]),
    Spec(17, "lost", "Maya", [("team", "D"), ("acc", "D")], [("price", "U"), ("competitor", "U")], [("Quotient", "c")]),
    Spec(18, "won", "Tom", [("acc", "D"), ("team", "D")], [("price", "H")], [("Pipewise", "r")]),
    Spec(19, "lost", "Luis", [("pay", "D")], [("authority", "U"), ("price", "U")], [("Salesbridge", "c")]),
    Spec(20, "open", "Priya", [("sec", "D"), ("live", "D")], []),
    Spec(21, "won", "Maya", [("acc", "D"), ("sec", "D"), ("live", "D")], [("security", "H")], deal="D-1004"),
    Spec(22, "lost", "Tom", [("crm", "C"), ("live", "D")], [("integration", "U")], [("Quotient", "c")], deal="D-1003"),
    Spec(23, "lost", "Priya", [("live", "P")], [("price", "U"), ("timing", "U")]),
    Spec(24, "open", "Luis", [("acc", "P")], [("timing", "H")], [("Pipewise", "c")]),
]

ACCOUNTS = [
    ("Harbor Logistics", "Dana"), ("Kestrel Health", "Omar"), ("Northwind Foods", "Grace"),
    ("Summit Robotics", "Ivan"), ("Bluebird Insurance", "Helen"), ("Cobalt Energy", "Victor"),
    ("Maple Street Bank", "Nadia"), ("Orion Media", "Paul"), ("Granite Software", "Rosa"),
    ("Lakeside Retail", "Ken"), ("Atlas Freight", "Sofia"), ("Pinecrest Labs", "Martin"),
    ("Redwood Legal", "Claire"), ("Silverline Travel", "Ahmed"), ("Ironbridge Steel", "Laura"),
    ("Meadow Pharma", "George"), ("Cascade Telecom", "Irene"), ("Beacon Schools", "Frank"),
    ("Copperfield Hotels", "Tina"), ("Falcon Aerospace", "Derek"),
]

# ---------------------------------------------------------------------------------------------- the lines
MESSAGE_LINES = {
    ("live_in_two_weeks", "D"): "Most teams are live on Brightline in two weeks, and we do the setup with you.",
    ("live_in_two_weeks", "P"): "We usually get teams like yours up and running within a couple of weeks.",
    ("live_in_two_weeks", "C"): "Honestly, setup takes a few months for a team your size.",
    ("forecast_accuracy", "D"): "Our customers improve forecast accuracy by thirty percent within one quarter.",
    ("forecast_accuracy", "P"): "Within one quarter, most customers see their forecasts become about thirty percent "
                                "more accurate.",
    ("native_crm", "D"): "Brightline connects natively to Salesforce and HubSpot with no engineering work.",
    ("native_crm", "P"): "It connects right into Salesforce, so there is nothing for your engineers to build.",
    ("native_crm", "C"): "You will need your engineers to build the Salesforce integration on your side.",
    ("security_certified", "D"): "Brightline is SOC 2 Type 2 certified and your data stays in your region.",
    ("security_certified", "P"): "We hold a SOC 2 certification and your data never leaves your region.",
    ("security_certified", "C"): "We are still working on our security certification, hopefully next year.",
    ("team_pricing", "D"): "Pricing is per team, not per seat, so your bill does not grow with every new hire.",
    ("team_pricing", "P"): "You pay for the team, not for each user, so hiring more reps will not raise your bill.",
    ("payback_six_months", "D"): "Most customers pay back the investment within six months.",
    ("payback_six_months", "P"): "It typically pays for itself in about six months.",
    ("payback_six_months", "C"): "Realistically, it takes a couple of years before you see a return.",
}

MESSAGE_LEADINS = ["Here is the part people usually care about.", "One thing worth knowing.",
                   "Let me be concrete.", "Something our customers tell us."]
ACKS = ["Okay, good to know.", "That is interesting.", "Right, that makes sense.", "Okay, noted.",
        "Good, that helps."]

OBJECTIONS = {
    "price": ["To be honest, this is more than we have set aside for tools this year.",
              "The number you mentioned is a lot higher than what we expected to pay.",
              "I am worried the price will be hard to justify to our finance team."],
    "timing": ["We are in the middle of a reorganization, so this quarter is really bad timing.",
               "I do not think we can look at anything new until our fiscal year starts."],
    "authority": ["I am not the person who signs off on this, that would be our chief financial officer.",
                  "I would have to take this to my vice president before we go any further."],
    "need": ["I am not convinced we need this, our spreadsheet does the job well enough.",
             "We have been forecasting by hand for years and it mostly works."],
    "competitor": ["Quotient already does most of what you showed me, so why would we switch?",
                   "Quotient showed us almost the same thing, so I do not see why we would pick you."],
    "security": ["Our security people will want to know exactly where our pipeline data is stored.",
                 "We cannot share customer data with a new vendor without a full security review."],
    "integration": ["My worry is our Salesforce setup, it is heavily customized and nothing fits into it easily.",
                    "Our engineers are fully booked, there is no way they can build another integration."],
}
ANSWERS = {  # (handled answer, customer accepts) / (brush-off, customer repeats the objection)
    "price": (("That is fair. Let's put the cost next to what a missed forecast costs you. You said you missed by "
               "fifteen percent last quarter, so I will build a business case with your own numbers.",
               "Okay, if the business case holds up, I can take that to finance."),
              ("Yeah, I hear that a lot. Pricing is what it is, I am afraid, there is not much I can do.",
               "I still think it is too expensive for what we would get.")),
    "timing": (("Understood. What if we plan the kickoff for the first week of next quarter, and do the paperwork "
                "now so nothing slips?", "That could work, let's pencil that in."),
               ("Okay, well, just call me when things settle down then.",
                "Yes, let's talk again sometime next year, now is just not the time.")),
    "authority": (("Makes sense. Would it help if I joined that meeting and brought a one page summary for them?",
                   "Yes, that would help a lot, I will set it up."),
                  ("Sure, let me know what they say.",
                   "Right, I really cannot commit to anything without their approval.")),
    "need": (("Fair enough. Can I ask how long your managers spend every week rolling up that spreadsheet?",
              "Actually, quite a lot, maybe a day each week across the team."),
             ("Okay, if the spreadsheet works for you, that is fine.",
              "Yeah, I think we will stick with what we have for now, we do not really need a new tool.")),
    "competitor": (("Good question. The difference is how we score deal risk, let me show you one deal side by side.",
                    "Okay, that side by side view is useful."),
                   ("Well, every tool has its strengths, I guess.",
                    "Then I honestly think we will stay with the vendor we are already talking to.")),
    "security": (("Good question. I will send you our security package today and set up a call with our "
                  "security lead and your team.", "Great, that should cover what they need."),
                 ("I would have to check on that, I am honestly not sure where the data lives.",
                  "Then I do not think our security team will let us move forward.")),
    "integration": (("We see that a lot. Our solutions engineer maps your custom fields in a one hour session, and "
                     "I can introduce you to a customer with a similar setup.", "Okay, that sounds manageable."),
                    ("Yeah, that part can get complicated, to be honest.",
                     "That is exactly my worry, it sounds like a big integration project for us.")),
}

COMPETITOR_LINES = {
    ("Quotient", "c"): ["We are also evaluating Quotient, and their team has been very responsive.",
                        "Quotient gave us a demo last week and their price was lower.",
                        "Honestly, Quotient is the other option on our shortlist."],
    ("Salesbridge", "c"): ["A few people on my team used Salesbridge at their last company.",
                           "We currently use Salesbridge for our pipeline reports."],
    ("Pipewise", "c"): ["We looked at Pipewise last year, but it never really stuck with the team."],
    ("Pipewise", "r"): ["Unlike Pipewise, we do not charge anything extra for onboarding or training."],
}
COMPETITOR_REPLIES = {"c": ["Thanks for telling me, that is helpful context.",
                            "Good to know, a lot of our customers looked at them too."],
                      "r": ["Okay, good to know."]}

DISCOVERY = [
    ("How are you forecasting today?",
     "Mostly in spreadsheets. Each manager sends me a number and I roll it up on Friday afternoon."),
    ("How many reps are on the team?", "About sixty reps with a quota, across three regions."),
    ("How accurate was last quarter's forecast?",
     "We missed by about fifteen percent, which caused a lot of pain with the board."),
    ("Who else is involved in the forecast?", "The sales managers, finance, and our chief revenue officer."),
    ("What does a good outcome look like for you this year?",
     "A number I can commit to the board without a week of manual work."),
    ("Which CRM are you on?", "We are on Salesforce, with a fair amount of customization."),
    ("How long does your weekly forecast meeting take?",
     "Two hours every Monday, and half of it is arguing about which deals are real."),
    ("What made you start looking at tools now?",
     "Our new finance lead wants a forecast we can trust, and she wants it every week."),
    ("Do you track deal risk today?", "Not really, we find out a deal slipped when it is already too late."),
    ("How do your managers coach their reps on pipeline?", "Mostly in one on ones, but without much data."),
    ("How big is the revenue operations team?", "It is me and one analyst, so we are stretched pretty thin."),
]
DEMO_LINES = [
    "Let me share my screen. This is the pipeline view, with every open deal and its risk score.",
    "Each manager gets a weekly roll up, and you can see which deals moved and why.",
    "Here you can compare the forecast to the actual result, quarter by quarter.",
    "And this is the deal page, with the activity history and the next step for each opportunity.",
]
CUSTOMER_QUESTIONS = ["Can managers adjust the forecast by hand?", "Does it work on mobile?",
                      "How often does the data refresh?"]
REP_ANSWERS_Q = ["Yes, every adjustment is tracked, so you can see who changed what.",
                 "Yes, there is a mobile app for managers.", "Every fifteen minutes from your CRM."]


# ---------------------------------------------------------------------------------------------- the dialogue
@dataclass
class Line:
    role: str
    text: str
    labels: list[dict] = field(default_factory=list)


def _objection_label(category: str, handled: str, repeat: bool = False) -> dict:
    return {"kind": "objection", "label": category, "answered": handled == "H", "repeat": repeat}


def build_dialogue(spec: Spec, customer: str, account: str, rng: random.Random) -> list[Line]:
    rep = spec.rep
    lines = [
        Line("rep", f"Hi {customer}, this is {rep} from Brightline. Thanks for making time today."),
        Line("customer", f"Hi {rep}, happy to chat. I run revenue operations at {account}."),
        Line("rep", "Great. I would love to understand how you forecast today, and then show you Brightline "
                    "Forecast. Does that work?"),
        Line("customer", "Sounds good."),
    ]
    discovery = rng.sample(DISCOVERY, k=len(DISCOVERY))
    n_disc = 6 + (2 if not spec.objs else 0) + (1 if len(spec.msgs) < 2 else 0)
    for q, a in discovery[:n_disc]:
        lines += [Line("rep", q), Line("customer", a)]

    # Competitors the customer brings up come early, as they would in discovery.
    for comp, who in spec.comps:
        if who == "c" and not any(c == "competitor" for c, _ in spec.objs):
            text = rng.choice(COMPETITOR_LINES[(comp, who)])
            lines += [Line("customer", text, [{"kind": "competitor", "label": comp}]),
                      Line("rep", rng.choice(COMPETITOR_REPLIES["c"]))]

    lines.append(Line("rep", DEMO_LINES[0]))
    lines += [Line("rep", text) for text in rng.sample(DEMO_LINES[1:], k=2)]
    if rng.random() < 0.6:
        i = rng.randrange(len(CUSTOMER_QUESTIONS))
        lines += [Line("customer", CUSTOMER_QUESTIONS[i]), Line("rep", REP_ANSWERS_Q[i])]

    for key, status in spec.msgs:
        mid = M[key]
        text = MESSAGE_LINES[(mid, status)]
        status_name = {"D": "delivered", "P": "paraphrased", "C": "contradicted"}[status]
        lines.append(Line("rep", f"{rng.choice(MESSAGE_LEADINS)} {text}",
                          [{"kind": "message", "label": mid, "status": status_name}]))
        lines.append(Line("customer", rng.choice(ACKS)))

    for comp, who in spec.comps:
        if who == "r":
            lines += [Line("rep", COMPETITOR_LINES[(comp, who)][0], [{"kind": "competitor", "label": comp}]),
                      Line("customer", rng.choice(COMPETITOR_REPLIES["r"]))]

    for category, handled in spec.objs:
        text = rng.choice(OBJECTIONS[category])
        labels = [_objection_label(category, handled)]
        if "Quotient" in text:
            labels.append({"kind": "competitor", "label": "Quotient"})
        lines.append(Line("customer", text, labels))
        (good, accept), (bad, repeat) = ANSWERS[category]
        if handled == "H":
            lines += [Line("rep", good), Line("customer", accept)]
        else:
            lines += [Line("rep", bad), Line("customer", repeat, [_objection_label(category, handled, True)])]

    if spec.outcome in ("won", "open"):
        lines += [Line("rep", "Let's set up a follow up on Thursday at two to walk through the proposal."),
                  Line("customer", "Thursday at two works, send me the invite.")]
    else:
        lines += [Line("rep", "Would it make sense to schedule a follow up next week?"),
                  Line("customer", "Just send me some material and I will get back to you.")]
    lines += [Line("rep", f"Thanks {customer}, talk soon."), Line("customer", "Thanks, bye.")]
    return lines


# ---------------------------------------------------------------------------------------------- the audio
@dataclass(frozen=True)
class Voice:
    """One speaker: a flite or festival voice, shifted in pitch (cents) and tempo by sox for variety."""

    engine: str  # "flite" | "festival"
    name: str
    pitch: int = 0
    tempo: float = 1.0


# Reps and customers are drawn so that no call pairs two voices of one underlying speaker (mono calls are
# diarized by voice): reps rms/awb meet customers slt/slt-hts; reps kal/slt-hts meet customers awb/rms.
REP_VOICES = [Voice("flite", "rms"), Voice("flite", "awb", tempo=1.05), Voice("flite", "kal16", pitch=-50),
              Voice("festival", "cmu_us_slt_arctic_hts", tempo=1.08)]
CUSTOMER_VOICES = [Voice("flite", "slt", tempo=0.97), Voice("flite", "awb", pitch=-150),
                   Voice("festival", "cmu_us_slt_arctic_hts", pitch=-120, tempo=1.0),
                   Voice("flite", "rms", pitch=250, tempo=1.05)]


def speak(text: str, voice: Voice) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        if voice.engine == "flite":
            subprocess.run(["flite", "-voice", voice.name, "-t", text, "-o", str(raw)], check=True)
        else:
            subprocess.run(["text2wave", "-eval", f"(voice_{voice.name})", "-o", str(raw)], input=text.encode(),
                           check=True, capture_output=True)
        effects = (["pitch", str(voice.pitch)] if voice.pitch else []) + \
                  (["tempo", "-s", str(voice.tempo)] if voice.tempo != 1.0 else [])
        subprocess.run(["sox", "-G", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out), *effects], check=True)
        with wave.open(str(out)) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    pcm = pcm * (0.7 / max(float(np.abs(pcm).max()), 1e-6))  # voices differ in loudness; level them
    nz = np.flatnonzero(np.abs(pcm) > 1e-3)  # the engines pad with silence; trim it so timings are the speech
    return pcm[nz[0]: nz[-1] + 1] if nz.size else pcm


def render(lines: list[Line], stereo: bool, voices: dict[str, Voice], rng: random.Random,
           out: Path) -> list[tuple[float, float]]:
    cursor = 0.6
    clips, spans = [], []
    for line in lines:
        clip = speak(line.text, voices[line.role])
        start = cursor
        clips.append((line.role, int(start * RATE), clip))
        spans.append((round(start, 2), round(start + len(clip) / RATE, 2)))
        cursor = start + len(clip) / RATE + rng.uniform(0.35, 0.8)
    total = int((cursor + 0.6) * RATE)
    track = np.zeros((total, 2 if stereo else 1), dtype=np.float32)
    for role, at, clip in clips:
        channel = (0 if role == "rep" else 1) if stereo else 0
        track[at: at + len(clip), channel] += clip * (0.8 if role == "rep" else 0.9)
    pcm = (np.clip(track, -1, 1) * 32767).astype(np.int16)
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        with wave.open(tmp.name, "wb") as w:
            w.setnchannels(pcm.shape[1])
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.tobytes())
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", tmp.name, "-ar", "16000", "-c:a", "libopus",
                        "-b:a", "32k" if stereo else "24k", str(out)], check=True)
    return spans


def mmss(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def main() -> None:
    rng = random.Random(SEED)
    (HERE / "calls").mkdir(exist_ok=True)
    (HERE / "scripts").mkdir(exist_ok=True)
    start_day = date(2026, 10, 5)
    label_rows, call_rows, deals = [], [], {}
    for spec in SPECS:
        account, customer = ACCOUNTS[(spec.n - 1) % len(ACCOUNTS)]
        deal_id = spec.deal or f"D-{1000 + spec.n}"
        if spec.deal:  # a second call in an existing deal: same account
            first = next(s for s in SPECS if f"D-{1000 + s.n}" == spec.deal)
            account, customer = ACCOUNTS[first.n - 1]
        stem = f"call_{spec.n:02d}"
        stereo = spec.n % 2 == 0
        call_day = start_day + timedelta(days=(spec.n - 1) * 2 + rng.randint(0, 1))
        lines = build_dialogue(spec, customer, account, rng)
        voices = {"rep": REP_VOICES[spec.n % len(REP_VOICES)],
                  "customer": CUSTOMER_VOICES[(spec.n // 2) % len(CUSTOMER_VOICES)]}
        spans = render(lines, stereo, voices, rng, HERE / "calls" / f"{stem}.opus")
        with (HERE / "scripts" / f"{stem}.txt").open("w") as fh:
            for line, (t0, _) in zip(lines, spans, strict=True):
                fh.write(f"[{mmss(t0)}] {line.role.upper()}: {line.text}\n")
        for i, (line, (t0, t1)) in enumerate(zip(lines, spans, strict=True)):
            for lab in line.labels:
                label_rows.append({"call": stem, "line": i, "start": t0, "end": t1, "role": line.role,
                                   "text": line.text, **lab})
        call_rows.append({"path": f"calls/{stem}.opus", "date": call_day.isoformat(), "rep": spec.rep,
                          "account": account, "deal_id": deal_id, "channels": 2 if stereo else 1,
                          "rep_channel": "left" if stereo else ""})
        close = call_day + timedelta(days=21)
        deals[deal_id] = {"deal_id": deal_id, "outcome": spec.outcome,
                          "amount": 24000 + 6000 * (spec.n % 7), "close_date": "" if spec.outcome == "open"
                          else close.isoformat(), "stage": {"won": "Closed Won", "lost": "Closed Lost",
                                                            "open": "Proposal"}[spec.outcome], "rep": spec.rep}
        print(f"{stem}: {'stereo' if stereo else 'mono  '} {spans[-1][1] / 60:4.1f} min, {len(lines)} lines, "
              f"{spec.outcome}")
    # Gong's real recorded demo call (BSD-3-Clause, see gong/LICENSE.gecko) rides along as one more call.
    call_rows.append({"path": "gong/demo.mp3", "date": "2026-11-20", "rep": "Roger", "account": "Virgil's company",
                      "deal_id": "D-GONG", "channels": 1, "rep_channel": ""})
    deals["D-GONG"] = {"deal_id": "D-GONG", "outcome": "open", "amount": 50000, "close_date": "",
                       "stage": "Pilot", "rep": "Roger"}
    with (HERE / "labels.jsonl").open("w") as fh:
        for row in label_rows:
            fh.write(json.dumps(row) + "\n")
    with (HERE / "calls.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "date", "rep", "account", "deal_id", "channels", "rep_channel"])
        w.writeheader()
        w.writerows(call_rows)
    with (HERE / "deals.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["deal_id", "outcome", "amount", "close_date", "stage", "rep"])
        w.writeheader()
        w.writerows(deals.values())


if __name__ == "__main__":
    main()
