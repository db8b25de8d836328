from __future__ import annotations

import pytest

from feedsvc.errors import EnrichmentFailed
from worker.enrich.validate import (
    check_language,
    check_plain_text,
    strip_list_marker,
    unverified_numbers,
)

TEXTS = {
    "zh": "本文提出了一种基于 Transformer 的对比学习方法，在 ImageNet 上取得了更好的结果。",
    "ja": "本論文では Transformer に基づく対照学習の手法を提案し、ImageNet で評価する。",
    "ko": "이 논문은 Transformer 기반의 대조 학습 방법을 제안하고 ImageNet에서 평가한다.",
    "en": "We propose a contrastive method that is trained with the images and the labels.",
    "de": "Wir stellen eine Methode für das Lernen mit Bildern vor, die mit den Daten skaliert.",
    "fr": "Nous proposons une méthode pour les images et la classification dans des données.",
    "ru": "Мы предлагаем метод контрастного обучения на основе Transformer для ImageNet.",
}


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_text_in_its_own_language_passes(language: str) -> None:
    check_language(TEXTS[language], language)


@pytest.mark.parametrize(
    ("text_language", "asked", "reason"),
    [
        ("en", "zh", "CJK characters"),
        ("en", "ja", "CJK characters"),
        ("ja", "zh", "reads as Japanese"),
        ("zh", "ja", "no kana"),
        ("en", "de", "reads as en"),
        ("de", "en", "reads as de"),
        ("en", "ru", "CYRILLIC"),
        ("en", "ko", "HANGUL"),
        ("ru", "fr", "Latin letters"),
    ],
)
def test_text_in_another_language_fails(text_language: str, asked: str, reason: str) -> None:
    with pytest.raises(EnrichmentFailed, match=reason) as caught:
        check_language(TEXTS[text_language], asked)
    assert caught.value.kind == "validation"


CHINESE_FULL_OF_TERMS = [
    # the blog's real answers: English names and acronyms inside Chinese sentences
    "针对医学图像分割面临的挑战，提出了一种通用框架Contrast-Driven Medical Image Segmentation "
    "(ConDSeg)。",
    "基于Vision Transformer(ViT)的弱监督语义分割(WSSS)方法在PASCAL VOC 2012和MS COCO 2014"
    "数据集上表现优异。",
    # a translated abstract with a formula, a URL and code: 12% CJK by the old count
    r"我们证明 $\mathcal{L}_{\text{InfoNCE}} \geq \log(N) - I(X;Y)$ 对所有 $N \ge 2$ 成立，"
    r"代码见 \url{https://github.com/org/repo} 与 `pip install contrastive-toolkit`。",
]


@pytest.mark.parametrize("text", CHINESE_FULL_OF_TERMS)
def test_chinese_is_judged_on_its_prose_not_its_terms(text: str) -> None:
    check_language(text, "zh")


@pytest.mark.parametrize(
    "text",
    [
        "This paper proposes 一种 new method for the segmentation of medical images.",
        "We propose a contrastive framework (对比学习) that is trained with the images.",
    ],
)
def test_english_with_a_few_chinese_words_is_not_chinese(text: str) -> None:
    with pytest.raises(EnrichmentFailed, match="prose in CJK"):
        check_language(text, "zh")


@pytest.mark.parametrize(
    "text",
    [
        "Here is the summary of the paper.",
        "I hope this helps with your reading.",
        "希望这个摘要符合您的要求。",
        "以下是论文的总结：本文提出了新方法。",
        "以下は論文の要約です。",
        "```json {} ```",
        "## Summary\nText",
        "The **key** idea is simple.",
    ],
)
def test_chatter_and_markdown_are_rejected(text: str) -> None:
    with pytest.raises(EnrichmentFailed):
        check_plain_text(text, "summary")


def test_plain_content_passes() -> None:
    check_plain_text("We study contrastive learning; the method reaches 78.1% accuracy.", "s")
    check_plain_text("本文研究对比学习，准确率达到 78.1%。", "s")


def test_numbers_not_in_the_source_are_reported() -> None:
    source = "We reach 78.1% top-1 on ImageNet-1k with 1,000 classes in 3 days (v2.0)."
    texts = ["Top-1 is 78.10% with 1000 classes.", "It takes 3 days, not 4.5 or 12."]
    assert unverified_numbers(texts, source) == ("4.5", "12")


def test_list_markers_are_stripped() -> None:
    for marked in ("1. Point", "2) Point", "- Point", "• Point", "③ Point", "1、Point"):
        assert strip_list_marker(marked) == "Point"
    assert strip_list_marker("3D shapes matter") == "3D shapes matter"
