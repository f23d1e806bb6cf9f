using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Models;

/// <summary>One generated response.</summary>
/// <param name="Tokens">Generated ids, including the stop token when there is one.</param>
/// <param name="Text">Decoded response (the tags are kept; a final <c>&lt;eos&gt;</c> is left out).</param>
/// <param name="LogProbs">Per generated token, log softmax(logits / T) of the unfiltered distribution.</param>
/// <param name="Truncated">True when the length limit ended the response before a stop token.</param>
public sealed record SampleResult(int[] Tokens, string Text, float[] LogProbs, bool Truncated);

/// <summary>
/// Batched generation with a KV cache. Prompts of different lengths share one batch by left padding: the
/// sequence is [image ; pads ; prompt], pads are masked out as keys (<see cref="KVCache.mask_keys"/>), and each real
/// token keeps the position it would have alone (image 0..P-1, then P, P+1, ... from the first real prompt token),
/// so a padded row computes what the row would compute on its own.
/// <para>Speed (rollouts are most of RL's and the annotator's wall time): everything runs in
/// <see cref="torch.inference_mode"/>, whose linear layers use weights packed once per call and compute each row
/// the same whatever batch it is in. Each distinct (image, prompt) is prefilled once, the distinct rows together in
/// chunks of a few (the last layer for the last position only), and its cache row copied to each row that repeats
/// it (RL's G samples per prompt) when that row starts; a row's prefill never depends on the other rows, so sharing
/// it changes no bit. Decoding runs on every core, each decoding a few
/// rows at a time in the slots of its own cache and starting the next row in the slot of a row that stopped. Every
/// op computes each row on its own, so neither which rows decode together nor the number of cores changes a row's
/// tokens.</para>
/// </summary>
public static class Sampler
{
    /// <summary>Generates one response per row. <paramref name="pixels"/>[r] is a C*S*S channel-first image in
    /// [0, 1]; <paramref name="prompts"/>[r] its prompt ids. Row r draws from a generator seeded with
    /// <see cref="RowSeed"/>(config.Seed, r), or <paramref name="rowSeeds"/>[r] when given.</summary>
    public static SampleResult[] Sample(MiniVlm model, Tokenizer tokenizer, IReadOnlyList<float[]> pixels,
        IReadOnlyList<int[]> prompts, SamplingConfig config, IReadOnlyList<long>? rowSeeds = null)
        => Sample(model, tokenizer, pixels, prompts, config, rowSeeds, sharePrefill: true);

    /// <summary><see cref="Sample(MiniVlm, Tokenizer, IReadOnlyList{float[]}, IReadOnlyList{int[]}, SamplingConfig, IReadOnlyList{long}?)"/>;
    /// <paramref name="sharePrefill"/> false prefills every row itself even when rows repeat one (image, prompt)
    /// (for the test that sharing changes nothing); <paramref name="decodeCores"/> decode (default: one per core).</summary>
    internal static SampleResult[] Sample(MiniVlm model, Tokenizer tokenizer, IReadOnlyList<float[]> pixels,
        IReadOnlyList<int[]> prompts, SamplingConfig config, IReadOnlyList<long>? rowSeeds, bool sharePrefill, int? decodeCores = null)
    {
        config.Validate();
        var c = model.Config;
        int batch = prompts.Count;
        if (pixels.Count != batch) throw new ArgumentException($"{pixels.Count} images for {batch} prompts");
        if (rowSeeds != null && rowSeeds.Count != batch) throw new ArgumentException($"{rowSeeds.Count} row seeds for {batch} prompts");
        if (batch == 0) return [];

        int promptMax = 0;
        var limit = new int[batch];
        int imageSize = c.Channels * c.ImageSize * c.ImageSize;
        for (int r = 0; r < batch; r++)
        {
            int len = prompts[r].Length;
            if (len == 0) throw new ArgumentException($"prompt {r} is empty (it needs at least <bos>)");
            if (pixels[r].Length != imageSize) throw new ArgumentException($"image {r} has {pixels[r].Length} values, expected {c.Channels}x{c.ImageSize}x{c.ImageSize} = {imageSize}");
            limit[r] = Math.Min(config.MaxNewTokens, c.MaxTextLen - len);
            if (limit[r] <= 0) throw new ArgumentException($"prompt {r} has {len} tokens, leaving no room in max_text_len {c.MaxTextLen}");
            promptMax = Math.Max(promptMax, len);
        }
        int steps = limit.Max();
        int p = c.ImageTokens, prefill = p + promptMax, vocab = c.VocabSize;

        // Inference mode: the linear layers multiply by weights packed once per call (they do not change while it
        // samples), and their rows come out the same whatever batch they sit in.
        using var inference = inference_mode();
        var generators = new Generator[batch];
        for (int r = 0; r < batch; r++) generators[r] = new Generator(rowSeeds?[r] ?? RowSeed(config.Seed, r));

        // Prefill: [image ; left pads ; prompt] of the distinct rows, in chunks of rows that each run one forward (a
        // chunk's products then have rows * prefill rows instead of prefill, and its per-op costs are paid once per
        // chunk rather than once per row). A row's numbers still never depend on the rows around it: every op of the
        // forward is row by row (products included, SamplerTests check it bit for bit). The first chunks run on every
        // core at once; each later one is run by the core that first takes a row of the chunk before it (a chunk
        // ahead of need), while the other cores go on decoding: no core waits for the whole batch's prefill.
        var (firsts, source) = sharePrefill ? DistinctRows(pixels, prompts) : (Enumerable.Range(0, batch).ToArray(), Enumerable.Range(0, batch).ToArray());
        var cache = new KVCache(c.TextLayers, firsts.Length, c.TextHeads, prefill, c.TextDim / c.TextHeads); // the prefixes only
        var prefillLogits = new float[firsts.Length * vocab];
        int workers = Math.Min(decodeCores ?? Environment.ProcessorCount, batch), slots = Math.Min(DecodeSlots, (batch + workers - 1) / workers);
        int chunkRows = Math.Min(PrefillChunkRows, (firsts.Length + workers - 1) / workers), chunks = (firsts.Length + chunkRows - 1) / chunkRows;
        void Prefill(int chunk)
        {
            int u0 = chunk * chunkRows, u1 = Math.Min(firsts.Length, u0 + chunkRows), rows = u1 - u0;
            var ids = new int[rows * promptMax];
            var positions = new int[rows * prefill];
            var view = cache.select_rows(Enumerable.Range(u0, rows).ToArray());
            var images = new List<float[]>(rows);
            for (int u = u0; u < u1; u++)
            {
                int r = firsts[u], pad = promptMax - prompts[r].Length, i = u - u0;
                images.Add(pixels[r]);
                for (int j = 0; j < p; j++) positions[i * prefill + j] = j;
                for (int j = 0; j < promptMax; j++)
                {
                    bool real = j >= pad;
                    ids[i * promptMax + j] = real ? prompts[r][j - pad] : Tokenizer.Pad;
                    positions[i * prefill + p + j] = real ? p + j - pad : 0;
                }
                view.mask_keys(i, p, pad);
            }
            var x = cat([model.EncodeImage(ImageBatch(images, c)), model.EmbedTokens(ids, rows, promptMax)], 1);
            // Only the last position's logits are read: the last layer skips the other positions' outputs.
            var hidden = model.DecodeLast(x, positions, view);
            model.lm_head.forward(hidden.select(1, 0)).contiguous().data<float>().CopyTo(prefillLogits, u0 * vocab);
        }
        var prefilled = new Lazy<bool>[chunks];
        for (int ch = 0; ch < chunks; ch++)
        {
            int chunk = ch;
            prefilled[ch] = new Lazy<bool>(() => { Prefill(chunk); return true; }, LazyThreadSafetyMode.ExecutionAndPublication);
        }
        var started = new int[chunks];
        // The prefix of distinct row u ready (computing its chunk here if no core has started it), and the next chunk
        // started by some core.
        void Ready(int u)
        {
            int chunk = u / chunkRows;
            Volatile.Write(ref started[chunk], 1);
            _ = prefilled[chunk].Value; // computes it, waits for the core computing it, or returns at once
            if (chunk + 1 < chunks && Interlocked.Exchange(ref started[chunk + 1], 1) == 0) _ = prefilled[chunk + 1].Value;
        }
        parallel_shards(Math.Min(workers, chunks), ch => { started[ch] = 1; _ = prefilled[ch].Value; });

        var tokens = new List<int>[batch];
        var logProbs = new List<float>[batch];
        var truncated = new bool[batch];
        for (int r = 0; r < batch; r++) { tokens[r] = []; logProbs[r] = []; }
        var picked = new int[batch];
        var pickedLogProb = new float[batch];

        // Decoding: each core decodes a few rows at a time in slots of its own cache, and when a row stops, the next
        // row not yet started takes its slot (its prefix copied from the prefill's cache, the rows that repeat one
        // prefix each getting a copy; its first token drawn from the prefill's logits) while the others go on: the
        // cores' batches stay full until the last rows start, with no barrier between the cores at each step. A
        // core's keys and values stay a few MB, so they are read from the last-level cache at every step instead of
        // streaming the whole batch's (64 rows over ~100 positions: 26 MB) from memory. Every op computes each row on
        // its own (the attention over each row's own positions), so neither the slots nor the cores change a row's
        // numbers, and each row draws from its own generator.
        var queue = new[] { -1 }; // the last row started
        parallel_shards(workers, _ => DecodeRows(model, config, prompts, limit, generators, cache, source, queue, slots, prefill + steps,
            r =>
            {
                Ready(source[r]);
                picked[r] = TokenPicker.Pick(prefillLogits.AsSpan(source[r] * vocab, vocab), config, generators[r], out pickedLogProb[r]);
            },
            picked, pickedLogProb, tokens, logProbs, truncated));

        var results = new SampleResult[batch];
        for (int r = 0; r < batch; r++)
        {
            var t = tokens[r].ToArray();
            int textLen = t.Length > 0 && t[^1] == Tokenizer.Eos ? t.Length - 1 : t.Length;
            results[r] = new SampleResult(t, tokenizer.Decode(t.AsSpan(0, textLen)), [.. logProbs[r]], truncated[r]);
        }
        return results;
    }

    /// <summary>One core's share of the decoding: takes rows in turn from <paramref name="queue"/> (the last row
    /// taken), starts each in a free slot of a cache of <paramref name="slots"/> rows from its prefix
    /// (<paramref name="prefixes"/> row <paramref name="source"/>[r], made ready with its first token picked by
    /// <paramref name="start"/>), and decodes its rows together until they stop and no row is left. Writes only the entries of the rows it takes.</summary>
    private static void DecodeRows(MiniVlm model, SamplingConfig config, IReadOnlyList<int[]> prompts, int[] limit, Generator[] generators,
        KVCache prefixes, int[] source, int[] queue, int slots, int maxLength, Action<int> start, int[] picked, float[] pickedLogProb,
        List<int>[] tokens, List<float>[] logProbs, bool[] truncated)
    {
        var c = model.Config;
        int batch = prompts.Count, vocab = c.VocabSize, p = c.ImageTokens;
        var cache = new KVCache(c.TextLayers, slots, c.TextHeads, maxLength, c.TextDim / c.TextHeads);
        var rowOf = new int[slots];
        var free = new Stack<int>(Enumerable.Range(0, slots).Reverse());
        var active = new List<int>(slots); // slots of the rows decoding, in the order of the step's batch
        var logits = new float[slots * vocab];

        // Appends row r's picked token; false when the row stops there.
        bool Record(int r)
        {
            int id = picked[r];
            tokens[r].Add(id);
            logProbs[r].Add(pickedLogProb[r]);
            if (id == Tokenizer.EndAnswer || id == Tokenizer.Eos) return false;
            if (tokens[r].Count < limit[r]) return true;
            truncated[r] = true;
            return false;
        }

        while (true)
        {
            while (free.Count > 0)
            {
                int r = Interlocked.Increment(ref queue[0]);
                if (r >= batch) break;
                start(r); // its prefix ready and its first token drawn
                if (!Record(r)) continue; // stopped at the first token
                int slot = free.Pop();
                cache.copy_row(prefixes, source[r], slot);
                rowOf[slot] = r;
                active.Add(slot);
            }
            int n = active.Count;
            if (n == 0) return;
            var ids = new int[n];
            var pos = new int[n];
            for (int i = 0; i < n; i++)
            {
                int r = rowOf[active[i]];
                ids[i] = picked[r];
                pos[i] = p + prompts[r].Length + tokens[r].Count - 1;
            }
            var hidden = model.Decode(model.EmbedTokens(ids, n, 1), pos, null, cache.select_rows([.. active]));
            model.lm_head.forward(hidden.select(1, 0)).contiguous().data<float>().CopyTo(logits, 0);
            int kept = 0;
            for (int i = 0; i < n; i++)
            {
                int slot = active[i], r = rowOf[slot];
                picked[r] = TokenPicker.Pick(logits.AsSpan(i * vocab, vocab), config, generators[r], out pickedLogProb[r]);
                if (Record(r)) active[kept++] = slot;
                else free.Push(slot);
            }
            active.RemoveRange(kept, n - kept);
        }
    }

    /// <summary>Most rows a core decodes at once (<see cref="DecodeRows"/>): one 6-row tile of the packed products
    /// (<c>PackedLinear</c>), and 6 rows over ~150 positions keep ~4 MB of keys and values, so that two cores' rows
    /// share the 32 MB last-level cache with the weights and whatever else runs. Measured on the batch-64 benchmark
    /// (2 cores, load ~6, 15 calls each, CPU time per call): 4, 6, 8, 10 and 16 slots took 1.22, 0.99, 1.18, 1.19
    /// and 1.33 s.</summary>
    internal const int DecodeSlots = 6;

    /// <summary>Most distinct rows per prefill chunk: 8 rows of 36 + ~20 positions are products of ~450 rows, where the
    /// packed products run near their full rate, and the chunks are small enough for the cores to take them in turn
    /// between decoding steps.</summary>
    internal const int PrefillChunkRows = 8;

    /// <summary>The first row of each distinct (image, prompt) pair by content, and for every row the index of its pair.</summary>
    private static (int[] firsts, int[] source) DistinctRows(IReadOnlyList<float[]> pixels, IReadOnlyList<int[]> prompts)
    {
        var firsts = new List<int>();
        var source = new int[prompts.Count];
        var seen = new Dictionary<(float[] px, int[] prompt), int>(new PrefixComparer());
        for (int r = 0; r < prompts.Count; r++)
        {
            if (!seen.TryGetValue((pixels[r], prompts[r]), out int u))
            {
                u = firsts.Count;
                seen.Add((pixels[r], prompts[r]), u);
                firsts.Add(r);
            }
            source[r] = u;
        }
        return ([.. firsts], source);
    }

    /// <summary>Equality of (image, prompt) pairs by content, bit for bit (so that -0 and 0 count as different pixels).</summary>
    private sealed class PrefixComparer : IEqualityComparer<(float[] px, int[] prompt)>
    {
        public bool Equals((float[] px, int[] prompt) x, (float[] px, int[] prompt) y) =>
            x.prompt.AsSpan().SequenceEqual(y.prompt)
            && System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.px.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.px.AsSpan()));

        public int GetHashCode((float[] px, int[] prompt) key)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key.prompt.AsSpan()));
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key.px.AsSpan()));
            return h.ToHashCode();
        }
    }

    /// <summary>The seed of row <paramref name="row"/>'s generator for batch seed <paramref name="seed"/>.</summary>
    public static long RowSeed(long seed, int row) => unchecked(seed * 1_000_003L + row * 0x9E3779B97F4A7C1L);

    /// <summary>Stacks channel-first images into [B, C, S, S], checking each one's size.</summary>
    public static Tensor ImageBatch(IReadOnlyList<float[]> pixels, MiniVlmConfig c)
    {
        int n = c.Channels * c.ImageSize * c.ImageSize;
        var data = new float[pixels.Count * n];
        for (int r = 0; r < pixels.Count; r++)
        {
            if (pixels[r].Length != n) throw new ArgumentException($"image {r} has {pixels[r].Length} values, expected {c.Channels}x{c.ImageSize}x{c.ImageSize} = {n}");
            Array.Copy(pixels[r], 0, data, r * n, n);
        }
        return tensor(data, [pixels.Count, c.Channels, c.ImageSize, c.ImageSize]);
    }
}
