"""Tokenizers behind one interface (`Tokenizer`): sentencepiece models trained here, HF
`tokenizer.json` directories and GGUF vocabularies, each with the model's chat template."""

from proxmo_jax.tokenizers.base import Tokenizer
from proxmo_jax.tokenizers.chat_template import ChatTemplateError
from proxmo_jax.tokenizers.gguf_tokenizer import from_gguf
from proxmo_jax.tokenizers.hf_tokenizer import HFTokenizer
from proxmo_jax.tokenizers.sentencepiece_tokenizer import (SentencePieceTokenizer,
                                                           train_sentencepiece)

__all__ = ["ChatTemplateError", "HFTokenizer", "SentencePieceTokenizer", "Tokenizer",
           "from_gguf", "train_sentencepiece"]
