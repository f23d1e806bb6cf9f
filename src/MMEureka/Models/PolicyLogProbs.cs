using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Models;

/// <summary>
/// Teacher-forced passes over right-padded [image ; prompt ; response ; pads] batches, with gradients: the
/// per-token log-probabilities of responses (what RL ratios and the PRM need) and the SFT loss. Right padding
/// needs no key mask: under the causal mask no real token ever sees a pad that follows it.
/// </summary>
public static class PolicyLogProbs
{
    /// <summary>
    /// log softmax(logits / <paramref name="temperature"/>) of each response token given image, prompt and the
    /// response tokens before it: a [B, Lmax] tensor with gradients (Lmax = longest response), and a [B * Lmax]
    /// mask that is 1 on real response tokens and 0 on padding (where the log-probability is 0).
    /// </summary>
    public static (Tensor logProbs, float[] mask) Compute(MiniVlm model, IReadOnlyList<float[]> pixels,
        IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses, float temperature = 1f)
    {
        int batch = prompts.Count;
        if (responses.Count != batch) throw new ArgumentException($"{responses.Count} responses for {batch} prompts");
        var (logits, length) = TextLogits(model, pixels, prompts, responses, temperature);
        var targets = ResponseTargets(prompts, responses, length);
        var nll = nn.functional.cross_entropy(logits, targets, reduction: "none"); // [B*T], 0 where ignored

        int lmax = Math.Max(1, responses.Max(r => r.Length));
        var index = new int[batch * lmax];
        var mask = new float[batch * lmax];
        for (int r = 0; r < batch; r++)
            for (int k = 0; k < lmax; k++)
            {
                bool real = k < responses[r].Length;
                // Padding reads text position 0 of its row (always a prompt token, so its loss is 0).
                index[r * lmax + k] = r * length + (real ? prompts[r].Length + k : 0);
                mask[r * lmax + k] = real ? 1 : 0;
            }
        return (nll.index_select(0, index).neg().view(batch, lmax), mask);
    }

    /// <summary>Mean cross-entropy over response tokens only (prompt and padding carry no loss): the SFT loss.</summary>
    public static Tensor ResponseLoss(MiniVlm model, IReadOnlyList<float[]> pixels, IReadOnlyList<int[]> prompts,
        IReadOnlyList<int[]> responses)
    {
        var (logits, length) = TextLogits(model, pixels, prompts, responses, 1f);
        return nn.functional.cross_entropy(logits, ResponseTargets(prompts, responses, length));
    }

    /// <summary>
    /// Logits [B * T, V] where row r * T + j is the prediction of text token j of row r (read at sequence
    /// position P + j - 1), for T = the longest prompt + response; divided by <paramref name="temperature"/>.
    /// </summary>
    public static (Tensor logits, int length) TextLogits(MiniVlm model, IReadOnlyList<float[]> pixels,
        IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses, float temperature)
    {
        var c = model.Config;
        int batch = prompts.Count, p = c.ImageTokens;
        if (pixels.Count != batch) throw new ArgumentException($"{pixels.Count} images for {batch} prompts");
        if (batch == 0) throw new ArgumentException("empty batch");
        if (!(temperature > 0)) throw new ArgumentException($"temperature must be positive, got {temperature}");
        int length = 0;
        for (int r = 0; r < batch; r++)
        {
            int len = prompts[r].Length + responses[r].Length;
            if (prompts[r].Length == 0) throw new ArgumentException($"prompt {r} is empty (it needs at least <bos>)");
            if (len > c.MaxTextLen) throw new ArgumentException($"row {r}: prompt + response = {len} tokens exceed max_text_len {c.MaxTextLen}");
            length = Math.Max(length, len);
        }
        var ids = new int[batch * length];
        for (int r = 0; r < batch; r++)
        {
            prompts[r].CopyTo(ids, r * length);
            responses[r].CopyTo(ids, r * length + prompts[r].Length);
        }
        var x = cat([model.EncodeImage(Sampler.ImageBatch(pixels, c)), model.EmbedTokens(ids, batch, length)], 1);
        int total = p + length;
        var positions = new int[batch * total];
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < total; j++) positions[r * total + j] = j;
        var hidden = model.Decode(x, positions).narrow(1, p - 1, length).reshape(batch * length, c.TextDim);
        var logits = model.lm_head.forward(hidden);
        return (temperature == 1f ? logits : logits / temperature, length);
    }

    /// <summary>Targets [B * T] for <see cref="TextLogits"/>: the response token ids, -100 (ignored) elsewhere.</summary>
    public static int[] ResponseTargets(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses, int length)
    {
        var targets = new int[prompts.Count * length];
        Array.Fill(targets, -100);
        for (int r = 0; r < prompts.Count; r++)
            responses[r].CopyTo(targets, r * length + prompts[r].Length);
        return targets;
    }
}
