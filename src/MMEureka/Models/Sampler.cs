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
/// sequence is [image ; pads ; prompt], pads are masked out as keys, and each real token keeps the position it
/// would have alone (image 0..P-1, then P, P+1, ... from the first real prompt token), so a padded row computes
/// what the row would compute on its own. Rows that stop leave the batch (their cache rows are dropped).
/// </summary>
public static class Sampler
{
    /// <summary>Generates one response per row. <paramref name="pixels"/>[r] is a C*S*S channel-first image in
    /// [0, 1]; <paramref name="prompts"/>[r] its prompt ids. Row r draws from a generator seeded with
    /// <see cref="RowSeed"/>(config.Seed, r), or <paramref name="rowSeeds"/>[r] when given.</summary>
    public static SampleResult[] Sample(MiniVlm model, Tokenizer tokenizer, IReadOnlyList<float[]> pixels,
        IReadOnlyList<int[]> prompts, SamplingConfig config, IReadOnlyList<long>? rowSeeds = null)
    {
        config.Validate();
        var c = model.Config;
        int batch = prompts.Count;
        if (pixels.Count != batch) throw new ArgumentException($"{pixels.Count} images for {batch} prompts");
        if (rowSeeds != null && rowSeeds.Count != batch) throw new ArgumentException($"{rowSeeds.Count} row seeds for {batch} prompts");
        if (batch == 0) return [];

        int promptMax = 0;
        var limit = new int[batch];
        for (int r = 0; r < batch; r++)
        {
            int len = prompts[r].Length;
            if (len == 0) throw new ArgumentException($"prompt {r} is empty (it needs at least <bos>)");
            limit[r] = Math.Min(config.MaxNewTokens, c.MaxTextLen - len);
            if (limit[r] <= 0) throw new ArgumentException($"prompt {r} has {len} tokens, leaving no room in max_text_len {c.MaxTextLen}");
            promptMax = Math.Max(promptMax, len);
        }
        int steps = limit.Max();
        int p = c.ImageTokens, prefill = p + promptMax;

        using var _ = no_grad();
        var generators = new Generator[batch];
        for (int r = 0; r < batch; r++) generators[r] = new Generator(rowSeeds?[r] ?? RowSeed(config.Seed, r));

        // Prefill: [image ; left pads ; prompt].
        var ids = new int[batch * promptMax];
        var positions = new int[batch * prefill];
        var mask = new List<float[]>(batch);
        for (int r = 0; r < batch; r++)
        {
            int pad = promptMax - prompts[r].Length;
            var m = new float[prefill + steps];
            for (int j = 0; j < p; j++) { positions[r * prefill + j] = j; m[j] = 1; }
            for (int j = 0; j < promptMax; j++)
            {
                bool real = j >= pad;
                ids[r * promptMax + j] = real ? prompts[r][j - pad] : Tokenizer.Pad;
                positions[r * prefill + p + j] = real ? p + j - pad : 0;
                m[p + j] = real ? 1 : 0;
            }
            mask.Add(m);
        }
        var cache = new KVCache(c.TextLayers, batch, c.TextHeads, prefill + steps, c.TextDim / c.TextHeads);
        var x = cat([model.EncodeImage(ImageBatch(pixels, c)), model.EmbedTokens(ids, batch, promptMax)], 1);
        var hidden = model.Decode(x, positions, MaskTensor(mask, prefill), cache);
        var logits = model.lm_head.forward(hidden.select(1, prefill - 1)).contiguous().data<float>();

        var tokens = new List<int>[batch];
        var logProbs = new List<float>[batch];
        var truncated = new bool[batch];
        for (int r = 0; r < batch; r++) { tokens[r] = []; logProbs[r] = []; }
        var active = Enumerable.Range(0, batch).ToList(); // original row of each cache row
        int vocab = c.VocabSize;

        for (int s = 0; active.Count > 0; s++)
        {
            var keep = new List<int>(active.Count);
            var next = new List<int>(active.Count);
            for (int a = 0; a < active.Count; a++)
            {
                int r = active[a];
                int id = TokenPicker.Pick(logits.AsSpan(a * vocab, vocab), config, generators[r], out float lp);
                tokens[r].Add(id);
                logProbs[r].Add(lp);
                bool stop = id == Tokenizer.EndAnswer || id == Tokenizer.Eos;
                if (!stop && tokens[r].Count >= limit[r]) truncated[r] = true;
                else if (!stop) { keep.Add(a); next.Add(id); }
            }
            if (keep.Count == 0) break;
            if (keep.Count < active.Count)
            {
                cache.index_select([.. keep]);
                active = keep.Select(a => active[a]).ToList();
                mask = keep.Select(a => mask[a]).ToList();
            }
            int col = prefill + s;
            var pos = new int[active.Count];
            for (int a = 0; a < active.Count; a++)
            {
                pos[a] = p + prompts[active[a]].Length + s;
                mask[a][col] = 1;
            }
            hidden = model.Decode(model.EmbedTokens([.. next], active.Count, 1), pos, MaskTensor(mask, col + 1), cache);
            logits = model.lm_head.forward(hidden.select(1, 0)).contiguous().data<float>();
        }

        var results = new SampleResult[batch];
        for (int r = 0; r < batch; r++)
        {
            var t = tokens[r].ToArray();
            int textLen = t.Length > 0 && t[^1] == Tokenizer.Eos ? t.Length - 1 : t.Length;
            results[r] = new SampleResult(t, tokenizer.Decode(t.AsSpan(0, textLen)), [.. logProbs[r]], truncated[r]);
        }
        return results;
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

    private static Tensor MaskTensor(List<float[]> rows, int columns)
    {
        var data = new float[rows.Count * columns];
        for (int r = 0; r < rows.Count; r++) Array.Copy(rows[r], 0, data, r * columns, columns);
        return tensor(data, [rows.Count, columns]);
    }
}
