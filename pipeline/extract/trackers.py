"""The offline evidence engine: vocabulary trackers for competitors, MiniLM similarity for objections and
messages. Needs no key and no network; every finding quotes the sentence it was found in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np
from winloss.pipeline.extract.base import Findings
from winloss.pipeline.extract.claims import Claim, agreement, disagreement, negated, quantities
from winloss.pipeline.extract.learning import LearnedTrackers
from winloss.pipeline.extract.negatives import not_objections
from winloss.pipeline.extract.sentences import clause_runs, split_sentences
from winloss.pipeline.models import (
    CompetitorMention,
    Evidence,
    FindingKind,
    MessageStatus,
    MessageUse,
    Objection,
    Role,
    Transcript,
    Utterance,
    rep_replies,
)
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.embed import Embedder
from winloss.pipeline.settings import ExtractionSettings

ENGINE = "offline"
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
# First letters an ASR system confuses: a name heard as "Vipewise" or "Bipewise" is still Pipewise.
_SOUND_ALIKE = [set("pbvf"), set("kcqg"), set("td"), set("szc"), set("mn"), set("aeiouy")]


def _alike(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _SOUND_ALIKE)


def is_common_word(token: str, zipf: float = 3.0) -> bool:
    """An English word used at least `zipf` on the Zipf scale (3.0: once per million words; wordfreq's corpus
    counts). An ASR slip that lands on such a word ("pipelines", "questioned") is never read as a name."""
    from wordfreq import zipf_frequency

    return zipf_frequency(token, "en") >= zipf


@dataclass(frozen=True)
class Sentence:
    utterance: Utterance
    text: str


@dataclass(frozen=True)
class Judged:
    """A customer sentence as the objection tracker sees it: its closest category, and how far past the decision it
    is (margin > 0: an objection)."""

    sentence: Sentence
    category: str
    margin: float
    confidence: float
    similarity: float  # to the category's closest example


def sentences(utterance: Utterance) -> list[Sentence]:
    return [Sentence(utterance, s) for s in split_sentences(utterance.text)]


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class CompetitorTracker:
    """Alias matching on word boundaries, plus a guarded fuzzy match for ASR misspellings: only a word that is not
    a common English word, of 5+ letters, starting with the alias's letter or one that sounds alike, and within
    `fuzzy_ratio` of the alias ("Quotian", "Vipewise", "Pwise")."""

    def __init__(self, playbook: Playbook, fuzzy_ratio: float = 0.75, common_zipf: float = 3.0):
        self.fuzzy_ratio = fuzzy_ratio
        self.common_zipf = common_zipf
        self.patterns = []
        self.squashed: dict[str, str] = {}
        for comp in playbook.competitors:
            for alias in comp.names:
                words = [re.escape(w) for w in re.split(r"[\s-]+", alias.strip()) if w]
                # A competitor named like an everyday word ("Notion") can ask for its exact spelling.
                flags = 0 if comp.case_sensitive else re.IGNORECASE
                pattern = re.compile(r"(?<![A-Za-z0-9])" + r"[\s-]*".join(words) + r"(?![A-Za-z0-9])", flags)
                self.patterns.append((comp.name, alias, pattern))
                if not comp.case_sensitive:
                    self.squashed.setdefault(_squash(alias), comp.name)

    def generalise(self, text: str) -> str:
        """The text with every competitor it names, exactly or as an ASR slip, replaced by "another vendor"."""
        for _name, _alias, pattern in self.patterns:
            text = pattern.sub("another vendor", text)
        for _name, heard, confidence in self.mentions(text):
            if confidence < 1.0:
                text = re.sub(r"(?<![A-Za-z0-9])" + re.escape(heard) + r"(?![A-Za-z0-9])", "another vendor", text)
        return text

    def mentions(self, text: str) -> list[tuple[str, str, float]]:
        """(competitor, alias as heard, confidence) found in one sentence."""
        found: dict[str, tuple[str, str, float]] = {}
        for name, _alias, pattern in self.patterns:
            if m := pattern.search(text):
                found.setdefault(name, (name, m.group(), 1.0))
        for token in _TOKEN.findall(text):
            key = _squash(token)
            if len(key) < 5 or is_common_word(token, self.common_zipf):
                continue
            for alias_key, name in self.squashed.items():
                if name in found or not _alike(key[0], alias_key[0]):
                    continue
                ratio = SequenceMatcher(None, key, alias_key).ratio()
                if ratio >= self.fuzzy_ratio:
                    found[name] = (name, token, round(ratio, 3))
        return list(found.values())


class CompanyName:
    """The company's own name as the ASR spelt it ("bright line", "right-line" for Brightline), put back before a
    sentence is embedded, so a message that names the company still reads like the playbook's wording.

    Looser than the competitor matcher (no first-letter rule), since a wrong guess here creates no finding: it only
    changes one word of the text MiniLM compares. One or two adjacent words are tried; quotes stay verbatim."""

    def __init__(self, playbook: Playbook, ratio: float = 0.85):
        self.ratio = ratio
        self.names = {_squash(playbook.company.name): playbook.company.name} if playbook.company.name else {}

    def restore(self, text: str) -> str:
        if not self.names:
            return text
        tokens = list(_WORD.finditer(text))
        out, last, i = [], 0, 0
        while i < len(tokens):
            width, name = self._match(text, tokens[i: i + 2])
            if name and text[tokens[i].start(): tokens[i + width - 1].end()] != name:
                out += [text[last: tokens[i].start()], name]
                last = tokens[i + width - 1].end()
            i += width or 1
        return "".join(out) + text[last:]

    def _match(self, text: str, tokens: list[re.Match]) -> tuple[int, str | None]:
        """(words used, the company name) for the name heard in one word, else in two adjacent ones."""
        for width in (1, 2):
            span = tokens[:width]
            if len(span) < width or (width == 2 and text[span[0].end(): span[1].start()] not in (" ", "-")):
                continue
            key = "".join(_squash(t.group()) for t in span)
            for squashed, name in self.names.items():
                if abs(len(key) - len(squashed)) <= 2 and SequenceMatcher(None, key, squashed).ratio() >= self.ratio:
                    return width, name
        return 0, None


class OfflineExtractor:
    name = ENGINE

    def __init__(self, playbook: Playbook, settings: ExtractionSettings, embedder: Embedder,
                 learned: LearnedTrackers | None = None):
        self.playbook = playbook
        self.learned = learned
        self.settings = settings
        self.embedder = embedder
        self.competitors = CompetitorTracker(playbook)
        self.company = CompanyName(playbook)
        self._claims = {m.id: Claim.of([m.text, *m.paraphrases]) for m in playbook.messages}
        self._refs: dict[str, tuple[list[str], np.ndarray]] | None = None

    def _references(self) -> dict[str, tuple[list[str], np.ndarray]]:
        """Embeddings of the playbook's example phrases, computed once per extractor."""
        if self._refs is None:
            groups: dict[str, list[str]] = {}
            for cat in self.playbook.objections:
                groups[f"obj:{cat.category}"] = cat.examples
            confirmed = self.learned.examples(FindingKind.message) if self.learned else {}
            for msg in self.playbook.messages:
                groups[f"msg:{msg.id}"] = [msg.text, *msg.paraphrases, *confirmed.get(msg.id, [])]
                if msg.forbidden:
                    groups[f"forbid:{msg.id}"] = msg.forbidden
            for side, examples in self.playbook.handling.model_dump().items():
                groups[f"handle:{side}"] = examples
            for ctx in self.playbook.competitor_contexts:
                groups[f"ctx:{ctx.context}"] = ctx.examples
            groups["not:objection"] = not_objections(self.playbook)
            if self.learned:  # sentences a reviewer confirmed join their category's examples
                for category, texts in self.learned.examples(FindingKind.objection).items():
                    if f"obj:{category}" in groups:
                        groups[f"obj:{category}"] = [*groups[f"obj:{category}"], *texts]
            groups = {key: texts for key, texts in groups.items() if texts}
            texts = [t for group in groups.values() for t in group]
            vectors = self.embedder.embed(texts)
            self._refs, i = {}, 0
            for key, group in groups.items():
                self._refs[key] = (group, vectors[i: i + len(group)])
                i += len(group)
        return self._refs

    def extract(self, transcript: Transcript) -> Findings:
        units = [s for u in transcript.utterances for s in sentences(u)]
        competitors = self._competitors(transcript.call_id, units)
        scored = [s for s in units if len(s.text.split()) >= self.settings.min_words]
        sims = self._similarities(scored)
        objections = self._objections(transcript.call_id, scored, sims, rep_replies(transcript.utterances))
        messages = self._messages(transcript.call_id, scored, sims)
        return Findings(self._handling(transcript, objections), self._contexts(competitors), messages)

    def _similarities(self, scored: list[Sentence]) -> dict[str, np.ndarray]:
        """Per reference group, a (sentences x examples) similarity matrix.

        For the playbook's messages a sentence scores its best over itself and its runs of clauses
        (`clause_runs`): the ASR joins a rep's lead-in and claim into one sentence. Objections keep the whole
        sentence, whose context ("we looked at it, but...") decides what a customer means."""
        texts, starts = [], []
        for s in scored:
            starts.append(len(texts))
            texts.append(s.text)
            if s.utterance.role is not Role.customer:
                texts += clause_runs(s.text, self.settings.min_words)
        # Competitor names mean nothing to MiniLM; the playbook's examples say "another vendor".
        vectors = self.embedder.embed([self.competitors.generalise(self.company.restore(t)) for t in texts])
        sims = {}
        for key, (examples, ref_vecs) in self._references().items():
            if not scored:
                sims[key] = np.zeros((0, len(examples)))
            elif key.startswith(("msg:", "forbid:")):
                sims[key] = np.maximum.reduceat(vectors @ ref_vecs.T, starts, axis=0)
            else:
                sims[key] = vectors[starts] @ ref_vecs.T
        return sims

    def _closer(self, texts: list[str], yes: str, no: str) -> list[bool | None]:
        """For each text: is it closer to the `yes` examples than to the `no` ones? None when either is missing."""
        refs = self._references()
        if yes not in refs or no not in refs:
            return [None] * len(texts)
        vectors = self.embedder.embed(texts)
        yes_sim = (vectors @ refs[yes][1].T).max(axis=1) if len(texts) else []
        no_sim = (vectors @ refs[no][1].T).max(axis=1) if len(texts) else []
        return [bool(a > b) for a, b in zip(yes_sim, no_sim, strict=True)]

    def _handling(self, transcript: Transcript, objections: list[Objection]) -> list[Objection]:
        """Did the rep answer each objection (their next turns), and did the customer accept or object again?"""
        utts = transcript.utterances
        raised = {o.evidence.utterance_index for o in objections}
        replies: list[str] = []
        next_turns: list[Utterance | None] = []
        for o in objections:
            j = o.evidence.utterance_index + 1
            while j < len(utts) and utts[j].role is Role.customer and j not in raised:
                j += 1  # the customer goes on with the same turn
            reply = []
            while j < len(utts) and utts[j].role is not Role.customer:
                if utts[j].role is Role.rep:
                    reply.append(utts[j].text)
                j += 1
            replies.append(" ".join(reply))
            next_turns.append(utts[j] if j < len(utts) and reply else None)
        answered = self._closer([r or "." for r in replies], "handle:answered", "handle:brushed_off")
        accepted = self._closer([u.text if u else "." for u in next_turns], "handle:accepted", "handle:rejected")
        out = []
        for o, reply, ans, turn, acc in zip(objections, replies, answered, next_turns, accepted, strict=True):
            if not reply:
                ans = False
            if turn is not None and turn.index in raised:
                acc = False  # the customer raised an objection again
            elif turn is None or not ans:
                acc = None  # no answer to accept
            out.append(o.model_copy(update={"answered": ans, "accepted": acc}))
        return out

    def _contexts(self, mentions: list[CompetitorMention]) -> list[CompetitorMention]:
        """Why each competitor came up: the first context whose cue phrase occurs, else the closest example."""
        contexts = self.playbook.competitor_contexts
        if not mentions or not contexts:
            return mentions
        refs = self._references()
        vectors = self.embedder.embed([self.competitors.generalise(m.evidence.quote) for m in mentions])
        out = []
        for m, vector in zip(mentions, vectors, strict=True):
            lowered = m.evidence.quote.lower()
            context = next((c.context for c in contexts if any(cue in lowered for cue in c.cues)), None)
            if context is None:
                sims = [(float((refs[f"ctx:{c.context}"][1] @ vector).max()), c.context)
                        for c in contexts if f"ctx:{c.context}" in refs]
                if sims and max(sims)[0] >= self.settings.context_threshold:
                    context = max(sims)[1]
            out.append(m.model_copy(update={"context": context}))
        return out

    def _evidence(self, call_id: str, sentence: Sentence) -> Evidence:
        u = sentence.utterance
        return Evidence(call_id=call_id, utterance_index=u.index, start=u.start, end=u.end, role=u.role,
                        speaker=u.speaker, quote=sentence.text)

    def _competitors(self, call_id: str, units: list[Sentence]) -> list[CompetitorMention]:
        seen: set[tuple[int, str]] = set()
        out = []
        for s in units:
            for name, alias, conf in self.competitors.mentions(s.text):
                if (s.utterance.index, name) in seen:
                    continue
                seen.add((s.utterance.index, name))
                out.append(CompetitorMention(evidence=self._evidence(call_id, s), confidence=conf, engine=ENGINE,
                                             competitor=name, alias=alias))
        return out

    def _objections(self, call_id: str, scored: list[Sentence], sims: dict,
                    replies: dict[int, str]) -> list[Objection]:
        """One objection per customer turn at most: its sentence most like a category's examples. A turn a reviewer
        judged is what they said it is, whatever the tracker thinks."""
        best: dict[int, Judged] = {}
        for j in self._objection_margins(scored, sims, replies):
            idx = j.sentence.utterance.index
            said = self.learned.verdict(FindingKind.objection, call_id, j.sentence.utterance) if self.learned else None
            if said is not None:
                verdict, category = said
                j = Judged(j.sentence, category or j.category, 1.0 if verdict else -1.0, 1.0 if verdict else 0.0,
                           j.similarity)
            if j.margin > 0 and (idx not in best or (best[idx].confidence, best[idx].similarity) <
                                 (j.confidence, j.similarity)):
                best[idx] = j
        return [Objection(evidence=self._evidence(call_id, j.sentence), confidence=min(1.0, j.confidence),
                          engine=ENGINE, category=j.category) for j in best.values()]

    def objection_margins(self, transcript: Transcript) -> list[Judged]:
        """Every customer sentence with its closest category and its margin: how far past the decision it is
        (> 0: an objection). The sentences nearest 0 are the ones worth a reviewer's verdict."""
        scored = [s for u in transcript.utterances for s in sentences(u)
                  if len(s.text.split()) >= self.settings.min_words]
        return self._objection_margins(scored, self._similarities(scored), rep_replies(transcript.utterances))

    def _objection_margins(self, scored: list[Sentence], sims: dict, replies: dict[int, str]) -> list[Judged]:
        """Zero-shot: closer to an objection example than to anything
        that is not an objection (greetings, thanks, agreement, plain questions, the playbook's `not_objections`),
        and similar enough to one. A learned detector (extract/learning.py), once labels allow, decides instead, from
        the turn and `replies` (models.rep_replies)."""
        rows = [row for row, s in enumerate(scored) if s.utterance.role is not Role.rep]
        if not rows or not self.playbook.objections:
            return []
        learned = self.learned.detector(FindingKind.objection) if self.learned else None
        if learned:  # the learned detector judges whole customer turns, the unit a reviewer answers for
            turns = list(dict.fromkeys(scored[r].utterance for r in rows))
            chance = dict(zip(turns, learned.probabilities([u.text for u in turns], self.embedder,
                                                           [replies.get(u.index) for u in turns]), strict=True))
        out = []
        for row in rows:
            category, top = self._category(scored[row].text.lower(), row, sims)
            if category is None:
                continue
            if learned:
                p = float(chance[scored[row].utterance])
                margin, confidence = p - learned.threshold, p
            else:
                closer = top - float(sims["not:objection"][row].max()) - self.settings.objection_margin
                margin, confidence = min(closer, top - self.settings.objection_threshold), top
            out.append(Judged(scored[row], category, margin, confidence, top))
        return out

    def _category(self, lowered: str, row: int, sims: dict) -> tuple[str | None, float]:
        """The closest objection category (its examples and the sentences a reviewer filed under it); a cue phrase
        of the category backs the match. None when every category that requires a cue lacks it."""
        scores = []
        for cat in self.playbook.objections:
            cued = any(cue in lowered for cue in cat.cues)
            if cat.requires_cue and not cued:
                continue
            scores.append((float(sims[f"obj:{cat.category}"][row].max()) + (0.05 if cued else 0.0), cat.category))
        if not scores:
            return None, 0.0
        top, category = max(scores)
        return category, top

    def _messages(self, call_id: str, scored: list[Sentence], sims: dict) -> list[MessageUse]:
        best: dict[tuple[int, str], tuple[float, MessageStatus, Sentence]] = {}
        for row, s in enumerate(scored):
            if s.utterance.role is Role.customer or s.text.endswith("?"):
                continue  # a question delivers no claim
            figures, denies = quantities(s.text), negated(s.text)
            for msg in self.playbook.messages:
                positive = float(sims[f"msg:{msg.id}"][row].max())
                forbidden = float(sims[f"forbid:{msg.id}"][row].max()) if msg.forbidden else 0.0
                claim = self._claims[msg.id]
                # Weaker similarity suffices with a second, independent sign (claims.py): a figure that disagrees
                # with the message's, a denial of an affirmative message, or the message's own figure.
                clash = bool(figures) and disagreement(claim.figures, figures, self.settings.figure_ratio) is not None
                evidence = forbidden >= self.settings.contradiction_evidence_threshold and forbidden > positive
                if forbidden >= self.settings.contradiction_threshold and forbidden > positive:
                    status, score = MessageStatus.contradicted, forbidden
                elif clash and (evidence or positive >= self.settings.message_paraphrased_threshold):
                    status, score = MessageStatus.contradicted, max(positive, forbidden)
                elif denies and not claim.negated and evidence:
                    status, score = MessageStatus.contradicted, forbidden
                elif positive >= self.settings.message_delivered_threshold:
                    status, score = MessageStatus.delivered, positive
                elif positive >= self.settings.message_paraphrased_threshold or (
                        positive >= self.settings.message_figure_threshold and not clash
                        and agreement(claim.figures, figures, self.settings.figure_ratio)):
                    status, score = MessageStatus.paraphrased, positive
                else:
                    continue
                key = (s.utterance.index, msg.id)
                if key not in best or best[key][0] < score:
                    best[key] = (score, status, s)
        return [MessageUse(evidence=self._evidence(call_id, s), confidence=min(1.0, score), engine=ENGINE,
                           message_id=mid, status=status) for (_, mid), (score, status, s) in best.items()]
