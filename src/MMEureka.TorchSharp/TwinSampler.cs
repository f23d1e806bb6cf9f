using MMEureka.Models;
using static TorchSharp.torch;
using EngineGenerator = MMEureka.Torch.torch.Generator;

namespace MMEureka.Twin;

/// <summary>
/// The twin of the engine's <see cref="Sampler"/>: batched generation with a KV cache, prompts left-padded to one
/// length with the pads masked out as keys, each real token at the position it would have alone, finished rows
/// dropped from the cache. The network runs on the model's device (CPU or CUDA); each next token is picked on the CPU
/// by the engine's own <see cref="TokenPicker"/> from the engine's per-row generators (<see cref="Sampler.RowSeed"/>),
/// so both samplers make the same draws from the same logits and differ only by floating-point noise.
/// </summary>
public static class TwinSampler
{
    /// <summary>One response per row, as <see cref="Sampler.Sample"/> returns them.</summary>
    public static SampleResult[] Sample(TwinVlm model, Tokenizer tokenizer, IReadOnlyList<float[]> pixels,
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
        int steps = limit.Max(), p = c.ImageTokens, prefill = p + promptMax, width = prefill + steps;
        var device = model.Device;
        var generators = new EngineGenerator[batch];
        for (int r = 0; r < batch; r++) generators[r] = new EngineGenerator(rowSeeds?[r] ?? Sampler.RowSeed(config.Seed, r));

        using var noGrad = no_grad();
        var ids = new long[batch * promptMax];
        var positions = new long[batch * prefill];
        var mask = new List<bool[]>(batch); // real keys per row, over the whole cache width
        for (int r = 0; r < batch; r++)
        {
            int pad = promptMax - prompts[r].Length;
            var m = new bool[width];
            for (int j = 0; j < p; j++) { positions[r * prefill + j] = j; m[j] = true; }
            for (int j = 0; j < promptMax; j++)
            {
                bool real = j >= pad;
                ids[r * promptMax + j] = real ? prompts[r][j - pad] : Tokenizer.Pad;
                positions[r * prefill + p + j] = real ? p + j - pad : 0;
                m[p + j] = real;
            }
            mask.Add(m);
        }
        var cache = Enumerable.Range(0, c.TextLayers)
            .Select(_ => new TwinCacheLayer(batch, c.TextHeads, width, c.TextDim / c.TextHeads, device)).ToArray();
        try
        {
            float[] logits;
            using (var scope = NewDisposeScope())
            {
                var x = cat([model.EncodeImage(TwinLogProbs.Images(pixels, c, device)),
                             model.text.tok_embed.forward(tensor(ids, [batch, promptMax], device: device))], 1);
                var hidden = model.Decode(x, tensor(positions, [batch, prefill], device: device), MaskTensor(mask, prefill, device), cache);
                logits = model.lm_head.forward(hidden.select(1, prefill - 1)).cpu().data<float>().ToArray();
            }

            var tokens = new List<int>[batch];
            var logProbs = new List<float>[batch];
            var truncated = new bool[batch];
            for (int r = 0; r < batch; r++) { tokens[r] = []; logProbs[r] = []; }
            var active = Enumerable.Range(0, batch).ToList(); // original row of each cache row
            int vocab = c.VocabSize;
            for (int s = 0; active.Count > 0; s++)
            {
                var keep = new List<int>(active.Count);
                var next = new List<long>(active.Count);
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
                using var scope = NewDisposeScope();
                if (keep.Count < active.Count)
                {
                    var rows = tensor(keep.Select(k => (long)k).ToArray(), device: device);
                    foreach (var layer in cache) layer.KeepRows(rows);
                    active = keep.Select(a => active[a]).ToList();
                    mask = keep.Select(a => mask[a]).ToList();
                }
                int col = prefill + s;
                var pos = new long[active.Count];
                for (int a = 0; a < active.Count; a++)
                {
                    pos[a] = p + prompts[active[a]].Length + s;
                    mask[a][col] = true;
                }
                var emb = model.text.tok_embed.forward(tensor(next.ToArray(), [active.Count, 1], device: device));
                var h = model.Decode(emb, tensor(pos, [active.Count, 1], device: device), MaskTensor(mask, col + 1, device), cache);
                logits = model.lm_head.forward(h.select(1, 0)).cpu().data<float>().ToArray();
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
        finally
        {
            foreach (var layer in cache) layer.Dispose();
        }
    }

    static Tensor MaskTensor(List<bool[]> rows, int columns, Device device)
    {
        var data = new bool[rows.Count * columns];
        for (int r = 0; r < rows.Count; r++) Array.Copy(rows[r], 0, data, r * columns, columns);
        return tensor(data, [rows.Count, columns], device: device);
    }
}
