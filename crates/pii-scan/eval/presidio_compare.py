#!/usr/bin/env python3
"""Scores Microsoft Presidio's pattern recognizers on the same corpus and with
the same metric as `cargo xtask pii-eval` (exact entity and UTF-8 byte span).

No spaCy model can be downloaded here, so the NLP engine is spaCy's blank
English tokenizer with lower-cased tokens as lemmas: that is all Presidio's
context enhancer reads. Country-specific recognizers (ES, IT, PL, FI) are
registered for English text too. Presidio's NER-based entities (PERSON, ...)
are not involved: only its pattern recognizers run.

pip install presidio-analyzer; python3 presidio_compare.py [corpus.jsonl]
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer import predefined_recognizers as pr


@spacy.Language.component("lower_lemma")
def lower_lemma(doc):
    for t in doc:
        t.lemma_ = t.lower_
    return doc


class BlankEngine(SpacyNlpEngine):
    def __init__(self):
        super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])

    def load(self):
        nlp = spacy.blank("en")
        nlp.add_pipe("lower_lemma")
        self.nlp = {"en": nlp}


def main():
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("corpus.jsonl"))
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"])
    for name in ("EsNifRecognizer", "EsNieRecognizer", "ItFiscalCodeRecognizer", "PlPeselRecognizer",
                 "FiPersonalIdentityCodeRecognizer", "UkNinoRecognizer", "MacAddressRecognizer"):
        cls = getattr(pr, name, None)
        if cls is not None and not any(type(r).__name__ == name for r in registry.recognizers):
            registry.add_recognizer(cls(supported_language="en"))
    engine = BlankEngine()
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
    records = [json.loads(l) for l in corpus.open(encoding="utf-8") if l.strip()]
    gold_entities = sorted({s["entity_type"] for r in records for s in r["spans"]})
    results = []
    for r in records:
        text = r["text"]
        # Python offsets are code points: convert to UTF-8 bytes.
        b = [0]
        for ch in text:
            b.append(b[-1] + len(ch.encode()))
        found = analyzer.analyze(text=text, language="en", entities=gold_entities)
        results.append((r, [(f.entity_type, b[f.start], b[f.end], f.score) for f in found]))
    print(f"presidio on {corpus.name}: {len(records)} records")
    best = {}
    for threshold in (0.0, 0.3, 0.5):
        c = defaultdict(lambda: [0, 0, 0])
        for r, found in results:
            gold = {(s["entity_type"], s["start"], s["end"]) for s in r["spans"]}
            pred = {(e, s, t) for e, s, t, sc in found if sc >= threshold}
            for p in pred:
                c[p[0]][0 if p in gold else 1] += 1
            for g in gold - pred:
                c[g[0]][2] += 1
        for e in gold_entities:
            tp, fp, fn = c[e]
            p = tp / (tp + fp) if tp + fp else 1.0
            rc = tp / (tp + fn) if tp + fn else 1.0
            f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
            if e not in best or f1 > best[e][3]:
                best[e] = (threshold, p, rc, f1)
    print(f"{'entity':<27} {'thr':>4} {'precision':>9} {'recall':>7} {'F1':>7}   (best threshold of 0.0/0.3/0.5)")
    for e in gold_entities:
        t, p, rc, f1 = best[e]
        print(f"{e:<27} {t:>4} {p:>9.3f} {rc:>7.3f} {f1:>7.3f}")


if __name__ == "__main__":
    main()
