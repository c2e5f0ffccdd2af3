"""Batched greedy Whisper decoding over a static KV cache, replayed as CUDA graphs.

On a large batch, transformers' ``generate()`` spends most of each small decoder step in Python,
logits processors and cache bookkeeping while the GPU waits. Here one decoder step is a single
fixed-shape function over preallocated buffers (self-attention cache, cross-attention keys and
values, current token, position, finished flags), so on CUDA it is captured once per batch size
and attention span as a CUDA graph and then replayed. On other devices the same step runs
eagerly, which is how the tests check that it yields ``generate()``'s tokens.

Batches of any size share one set of buffers and graphs: the state is sized for the largest batch
seen (the dataset batch size, given up front as ``capacity``), and a smaller batch, such as the
last one of a dataset, fills the first rows while the rest are marked finished from the start. So
no graph is captured for a new size inside a timed region. Every attention span is captured when a
state is made, during the warm-up; each state has its own memory pool, freed with it.

Row compaction (``compact=True``): rows that have ended still cost a full step each (every step
reads every row's cross-attention keys and values). So graphs are also captured for smaller
"buckets" of rows (the capacity, then powers of two down to ``smallest_bucket``), each over the
first rows of the same buffers. At the host checks that already sync for "every row has ended",
when the rows still decoding fit a smaller bucket, their rows of every buffer are gathered to the
front, the tokens of the rows that leave are kept (padded with end-of-text, as they would have
been), and the steps go on with that bucket's graph. A batch smaller than the capacity starts in
the smallest bucket that holds it. The eager path compacts the same way, so the CPU tests check it.

The decoding rules are those ``generate()`` applies for greedy, timestamp-free transcription:
the prompt (start, language, task, no-timestamps), ``suppress_tokens`` at every step,
``begin_suppress_tokens`` at the first free position, and end-of-text padding once a row ends.
"""

from __future__ import annotations

from dataclasses import dataclass

SPANS = (32, 64, 128, 256, 448)  # self-attention spans with their own graph; a step uses the smallest that fits
DONE_CHECK_EVERY = 4  # steps between host checks of "every row has ended"
SMALLEST_BUCKET = 8  # row compaction: the fewest rows a bucket has (below it a step costs about the same)


def buckets_for(capacity: int, smallest: int = SMALLEST_BUCKET) -> tuple[int, ...]:
    """Row counts with their own graphs, largest first: the capacity, then the powers of two below it,
    down to ``smallest``."""
    sizes = {capacity}
    size = 1
    while size < capacity:
        if size >= smallest:
            sizes.add(size)
        size *= 2
    return tuple(sorted(sizes, reverse=True))


@dataclass(frozen=True)
class DecodeTrace:
    """What the last batch's decoding did: steps, the rows each step ran, the live rows at each host check."""

    steps: int
    row_steps: int  # Σ rows run over the steps (with compaction, less than steps × batch)
    checks: tuple[tuple[int, int, int], ...]  # (position, rows still decoding, rows the next steps run)


@dataclass(frozen=True)
class DecodeRules:
    prompt: tuple[int, ...]
    suppress: tuple[int, ...]
    begin_suppress: tuple[int, ...]
    eos: int | None  # None: never stop early (synthetic weights decode a fixed count)
    max_length: int  # positions including the prompt


def rules_for(network, language: str | None, fixed_tokens: int | None = None) -> DecodeRules:
    """The prompt and suppression rules ``generate()`` would use for this model and language."""
    config = network.generation_config
    if fixed_tokens:
        prompt = (int(config.decoder_start_token_id or network.config.decoder_start_token_id),)
        return DecodeRules(prompt, (), (), None, len(prompt) + fixed_tokens)
    prompt = [config.decoder_start_token_id]
    if getattr(config, "is_multilingual", False):
        if not language:
            raise ValueError("language detection is not supported by the graph decoder")
        language_token = config.lang_to_id.get(f"<|{language}|>")
        if language_token is None:
            raise ValueError(f"language {language!r} is not one this model knows")
        prompt += [language_token, config.task_to_id["transcribe"]]
    prompt.append(config.no_timestamps_token_id)
    max_length = min(config.max_length or 448, network.config.max_target_positions)
    return DecodeRules(
        tuple(int(t) for t in prompt),
        tuple(int(t) for t in (config.suppress_tokens or ())),
        tuple(int(t) for t in (config.begin_suppress_tokens or ())),
        int(config.eos_token_id),
        max_length,
    )


class GraphCaptureFailed(RuntimeError):
    """A decoder step could not be captured as a CUDA graph (the backend then runs generate())."""


class _Rows:
    """The buffers a decoder step reads and writes, seen through their first ``batch`` rows.

    Slices of the full buffers keep their addresses, so a graph captured over the first rows stays
    valid while the rows in them change."""

    def __init__(self, state: _BatchState, batch: int) -> None:
        self.batch = batch
        self.position = state.position
        self.self_k, self.self_v = state.self_k[:, :batch], state.self_v[:, :batch]
        self.cross_k, self.cross_v = state.cross_k[:, :batch], state.cross_v[:, :batch]
        self.token, self.done, self.tokens = state.token[:batch], state.done[:batch], state.tokens[:batch]


class _BatchState:
    """Fixed-address buffers for one batch size, and the graphs captured over them."""

    def __init__(self, decoder, batch: int, frames: int, rules: DecodeRules, device, dtype) -> None:
        import torch

        layers = len(decoder.layers)
        heads = decoder.layers[0].self_attn.num_heads
        head_dim = decoder.config.d_model // heads
        self.batch = batch
        self.self_k = torch.zeros(layers, batch, heads, rules.max_length, head_dim, device=device, dtype=dtype)
        self.self_v = torch.zeros_like(self.self_k)
        self.cross_k = torch.zeros(layers, batch, heads, frames, head_dim, device=device, dtype=dtype)
        self.cross_v = torch.zeros_like(self.cross_k)
        self.token = torch.zeros(batch, dtype=torch.long, device=device)
        self.position = torch.zeros(1, dtype=torch.long, device=device)
        self.done = torch.zeros(batch, dtype=torch.bool, device=device)
        self.tokens = torch.zeros(batch, rules.max_length, dtype=torch.long, device=device)
        self.graphs: dict[tuple[int, int], object] = {}  # (rows, span) -> the graph of one step
        self.pool = torch.cuda.graph_pool_handle() if device.type == "cuda" else None
        self.rows = batch  # rows holding real clips in the current batch
        self.views = {batch: _Rows(self, batch)}

    def front(self, rows: int) -> _Rows:
        view = self.views.get(rows)
        if view is None:
            view = self.views[rows] = _Rows(self, rows)
        return view

    def reset(self, first_token: int, rows: int) -> None:
        """Start a batch of ``rows`` clips; the padding rows after them count as finished."""
        self.rows = rows
        self.token.fill_(first_token)
        self.position.zero_()
        self.done.zero_()
        self.done[rows:] = True
        self.tokens.fill_(first_token)


class GraphDecoder:
    """Greedy decoding of a WhisperForConditionalGeneration with a static cache (CUDA graphs on CUDA).

    ``compact``: row compaction (see the module's text), with buckets down to ``smallest_bucket`` rows.
    ``encoder``: what runs the encoder (default the network's own; the backend may pass a compiled one).
    """

    def __init__(self, network, rules: DecodeRules, capacity: int = 1, use_graphs: bool = True,
                 compact: bool = False, smallest_bucket: int = SMALLEST_BUCKET, encoder=None) -> None:
        import torch

        self.network = network
        self.decoder = network.model.decoder
        self.encoder = encoder if encoder is not None else network.model.encoder
        self.rules = rules
        self.device = network.device
        self.use_graphs = use_graphs and self.device.type == "cuda"
        self.capacity = max(1, capacity)
        self.compact = compact and rules.eos is not None  # without an end token no row ends early
        self.smallest_bucket = max(1, smallest_bucket)
        self.trace: DecodeTrace | None = None
        self._state: _BatchState | None = None
        vocab = network.config.vocab_size
        self._suppress_bias = self._bias(vocab, rules.suppress)
        self._begin_bias = self._bias(vocab, rules.begin_suppress)
        self._begin_index = torch.tensor(len(rules.prompt), device=self.device)
        forced = torch.full((rules.max_length + 1,), -1, dtype=torch.long, device=self.device)
        forced[: len(rules.prompt)] = torch.tensor(rules.prompt, device=self.device)
        self._forced = forced
        self._positions = torch.arange(rules.max_length, device=self.device)

    def _bias(self, vocab: int, token_ids: tuple[int, ...]):
        import torch

        bias = torch.zeros(vocab, dtype=torch.float32, device=self.device)
        if token_ids:
            bias[list(token_ids)] = float("-inf")
        return bias

    @property
    def description(self) -> str:
        text = "static KV cache + CUDA graphs" if self.use_graphs else "static KV cache (eager)"
        return text + (" + row compaction" if self.compact else "")

    def decode(self, input_features, rows: int | None = None):
        """Token ids (rows, length) for a batch of log-mel features, prompt included.

        ``rows``: how many of the feature rows are real clips (the rest are padding), default all."""
        import torch

        with torch.inference_mode():
            return self.run_decoder(self.encode(input_features, rows))

    def encode(self, input_features, rows: int | None = None) -> _BatchState:
        """Run the encoder and fill a batch state's cross-attention keys and values (call in inference mode)."""
        return self.encode_from(self.encoder(input_features).last_hidden_state, rows)

    def encode_from(self, encoded, rows: int | None = None) -> _BatchState:
        """Fill a batch state's cross-attention keys and values from the encoder's output (call in inference mode);
        ``rows``: how many of its rows are real clips (the rest are padding), default all."""
        state = self.state_for(encoded.shape[0], encoded.shape[1])
        self._fill_cross_attention(state, encoded)
        state.reset(self.rules.prompt[0], encoded.shape[0] if rows is None else rows)
        return state

    def run_decoder(self, state: _BatchState):
        """Decode from an encoded state; token ids (rows, length), prompt included (call in inference mode)."""
        if not self.compact:
            length = self._run(state)
            return state.tokens[: state.rows, :length].clone()
        return self._run_compacting(state)

    @property
    def state_batch(self) -> int | None:
        """Rows of the buffers now allocated (None before the first batch)."""
        return self._state.batch if self._state is not None else None

    def buckets(self, batch: int) -> tuple[int, ...]:
        """Row counts a state of ``batch`` rows runs steps at, largest first."""
        return buckets_for(batch, self.smallest_bucket) if self.compact else (batch,)

    def state_for(self, batch: int, frames: int) -> _BatchState:
        """The buffers for a batch of ``batch`` clips: the current ones if they are large enough."""
        state = self._state
        if state is not None and state.batch >= batch and state.cross_k.shape[3] == frames:
            return state
        self._release()
        state = _BatchState(self.decoder, max(batch, self.capacity), frames, self.rules, self.device, self.network.dtype)
        self._state = state
        if self.use_graphs:
            import torch

            with torch.inference_mode():
                state.reset(self.rules.prompt[0], state.batch)
                for rows in self.buckets(state.batch):
                    for span in sorted({min(s, self.rules.max_length) for s in SPANS}):
                        state.graphs[rows, span] = self._capture(state, rows, span)
        return state

    def _release(self) -> None:
        """Free the current buffers and graphs: graphs first, then their pool, then the buffers."""
        state, self._state = self._state, None
        if state is None:
            return
        state.graphs.clear()
        del state
        if self.use_graphs:
            import gc

            import torch

            gc.collect()
            torch.cuda.synchronize()
            torch.cuda.empty_cache()

    def _fill_cross_attention(self, state: _BatchState, encoded) -> None:
        batch, frames, _ = encoded.shape
        heads, head_dim = state.cross_k.shape[2], state.cross_k.shape[4]
        for index, layer in enumerate(self.decoder.layers):
            attention = layer.encoder_attn
            keys = attention.k_proj(encoded).view(batch, frames, heads, head_dim).transpose(1, 2)
            values = attention.v_proj(encoded).view(batch, frames, heads, head_dim).transpose(1, 2)
            state.cross_k[index, :batch].copy_(keys)
            state.cross_v[index, :batch].copy_(values)

    @staticmethod
    def _span_at(position: int, max_length: int) -> int:
        return min(next((s for s in SPANS if s > position), SPANS[-1]), max_length)

    def _checks_at(self, position: int) -> bool:
        """Whether the host looks at the finished flags after ``position`` steps."""
        past_prompt = position - len(self.rules.prompt)
        return self.rules.eos is not None and past_prompt >= 0 and past_prompt % DONE_CHECK_EVERY == 0

    def _run(self, state: _BatchState) -> int:
        """Replay steps until every row has ended or the length limit; returns the length used."""
        position, last = 0, self.rules.max_length - 1
        while position < last:
            self._step_with(state, state.batch, self._span_at(position, self.rules.max_length))
            position += 1
            if self._checks_at(position) and bool(state.done.all()):
                break
        self.trace = DecodeTrace(position, position * state.batch, ())
        return position + 1

    def _run_compacting(self, state: _BatchState):
        """``_run`` with row compaction; token ids (rows, length) in the clips' order, prompt included."""
        import torch

        buckets = self.buckets(state.batch)
        running = min(b for b in buckets if b >= state.rows)  # a partial batch starts in the bucket that holds it
        origin = list(range(state.rows)) + [-1] * (running - state.rows)  # clip of each front row (-1: padding)
        kept = torch.full_like(state.tokens[: state.rows], self.rules.eos)  # rows that left, eos-padded
        position, last, row_steps, checks = 0, self.rules.max_length - 1, 0, []
        while position < last:
            self._step_with(state, running, self._span_at(position, self.rules.max_length))
            position += 1
            row_steps += running
            if not self._checks_at(position):
                continue
            done = state.done[:running].cpu().tolist()  # the check's one sync, as in _run; .cpu() waits GIL-free
            live = [row for row, ended in enumerate(done) if not ended]
            target = min((b for b in buckets if b >= len(live)), default=buckets[-1])
            checks.append((position, len(live), target if live else 0))
            if not live:
                break
            if target < running:
                self._keep(state, kept, origin, position + 1)
                origin = self._gather(state, live, origin, target, position)
                running = target
        length = position + 1
        self._keep(state, kept, origin, length)
        self.trace = DecodeTrace(position, row_steps, tuple(checks))
        return kept[:, :length].clone()

    def _keep(self, state: _BatchState, kept, origin: list[int], columns: int) -> None:
        """Copy the first ``columns`` tokens of every front row holding a clip to that clip's row of ``kept``."""
        import torch

        pairs = [(row, clip) for row, clip in enumerate(origin) if clip >= 0]
        rows = torch.tensor([row for row, _ in pairs], dtype=torch.long, device=self.device)
        clips = torch.tensor([clip for _, clip in pairs], dtype=torch.long, device=self.device)
        kept[:, :columns].index_copy_(0, clips, state.tokens[:, :columns].index_select(0, rows))

    def _gather(self, state: _BatchState, live: list[int], origin: list[int], target: int, position: int) -> list[int]:
        """Move the ``live`` rows to the front of every buffer; rows after them up to ``target`` count as ended.

        Self-attention keys and values are moved up to ``position`` (the positions written so far)."""
        import torch

        index = torch.tensor(live, dtype=torch.long, device=self.device)
        count = len(live)
        for cache in (state.self_k, state.self_v):
            written = cache[:, :, :, :position]
            written[:, :count].copy_(written.index_select(1, index))
        for cache in (state.cross_k, state.cross_v):
            cache[:, :count].copy_(cache.index_select(1, index))
        for buffer in (state.token, state.done, state.tokens):
            buffer[:count].copy_(buffer.index_select(0, index))
        state.done[count:target] = True
        return [origin[row] for row in live] + [-1] * (target - count)

    def _step_with(self, state: _BatchState, rows: int, span: int) -> None:
        if not self.use_graphs:
            self._step(state.front(rows), span)
            return
        state.graphs[rows, span].replay()

    def _capture(self, state: _BatchState, rows: int, span: int):
        """Capture one step over the first ``rows`` rows as a CUDA graph; the warm-up's writes are undone."""
        import torch

        saved = (state.token.clone(), state.position.clone(), state.done.clone(), state.tokens.clone())
        view = state.front(rows)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self._step(view, span)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, pool=state.pool):
                self._step(view, span)
        except RuntimeError as exc:
            raise GraphCaptureFailed(f"CUDA graph capture failed: {' '.join(str(exc).split())[:200]}") from exc
        for buffer, value in zip((state.token, state.position, state.done, state.tokens), saved):
            buffer.copy_(value)
        return graph

    def _step(self, state: _Rows, span: int) -> None:
        """One decoder step at ``state.position``: cache this token's keys/values, pick the next token."""
        import torch
        import torch.nn.functional as F

        decoder, batch = self.decoder, state.batch
        position = state.position
        hidden = decoder.embed_tokens(state.token[:, None]) * decoder.embed_scale
        hidden = hidden + decoder.embed_positions.weight[position][None]
        visible = (self._positions[:span] <= position)[None, None, None]
        heads, head_dim = state.self_k.shape[2], state.self_k.shape[4]

        def split(x):
            return x.view(batch, 1, heads, head_dim).transpose(1, 2)

        for index, layer in enumerate(decoder.layers):
            attention = layer.self_attn
            x = layer.self_attn_layer_norm(hidden)
            state.self_k[index].index_copy_(2, position, split(attention.k_proj(x)))
            state.self_v[index].index_copy_(2, position, split(attention.v_proj(x)))
            mixed = F.scaled_dot_product_attention(
                split(attention.q_proj(x)), state.self_k[index, :, :, :span], state.self_v[index, :, :, :span],
                attn_mask=visible,
            )
            hidden = hidden + attention.out_proj(mixed.transpose(1, 2).reshape(batch, 1, -1))
            cross = layer.encoder_attn
            x = layer.encoder_attn_layer_norm(hidden)
            mixed = F.scaled_dot_product_attention(split(cross.q_proj(x)), state.cross_k[index], state.cross_v[index])
            hidden = hidden + cross.out_proj(mixed.transpose(1, 2).reshape(batch, 1, -1))
            x = layer.final_layer_norm(hidden)
            hidden = hidden + layer.fc2(layer.activation_fn(layer.fc1(x)))
        logits = self.network.proj_out(decoder.layer_norm(hidden[:, 0])).float() + self._suppress_bias
        following = position + 1
        logits = torch.where(following == self._begin_index, logits + self._begin_bias, logits)
        chosen = logits.argmax(dim=-1)
        forced = self._forced[following]
        chosen = torch.where(forced >= 0, forced, chosen)
        if self.rules.eos is not None:
            chosen = torch.where(state.done, torch.full_like(chosen, self.rules.eos), chosen)
            state.done |= chosen == self.rules.eos
        state.tokens.index_copy_(1, following, chosen[:, None])
        state.token.copy_(chosen)
        state.position.add_(1)
