using MMEureka.Models;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MMEureka.Twin;

/// <summary>
/// The twin of <see cref="PolicyLogProbs"/>: teacher-forced passes over right-padded [image ; prompt ; response ; pads]
/// batches. Right padding needs no key mask: under the causal mask no real token sees a pad that follows it.
/// </summary>
public static class TwinLogProbs
{
    /// <summary>Mean cross-entropy over response tokens only (prompt and padding carry no loss): the SFT loss.</summary>
    public static Tensor ResponseLoss(TwinVlm model, IReadOnlyList<float[]> pixels, IReadOnlyList<int[]> prompts,
        IReadOnlyList<int[]> responses)
    {
        var (logits, length) = TextLogits(model, pixels, prompts, responses);
        var targets = PolicyLogProbs.ResponseTargets(prompts, responses, length);
        using var t = tensor(targets.Select(x => (long)x).ToArray(), device: model.Device);
        return functional.cross_entropy(logits, t, ignore_index: -100);
    }

    /// <summary>Logits [B * T, V]: row r * T + j predicts text token j of row r (read at sequence position P + j - 1),
    /// T = the longest prompt + response (the layout of <see cref="PolicyLogProbs.TextLogits"/>).</summary>
    public static (Tensor logits, int length) TextLogits(TwinVlm model, IReadOnlyList<float[]> pixels,
        IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses)
    {
        var c = model.Config;
        int batch = prompts.Count, p = c.ImageTokens;
        if (pixels.Count != batch || responses.Count != batch) throw new ArgumentException($"{pixels.Count} images and {responses.Count} responses for {batch} prompts");
        if (batch == 0) throw new ArgumentException("empty batch");
        int length = 0;
        for (int r = 0; r < batch; r++)
        {
            int len = prompts[r].Length + responses[r].Length;
            if (prompts[r].Length == 0) throw new ArgumentException($"prompt {r} is empty (it needs at least <bos>)");
            if (len > c.MaxTextLen) throw new ArgumentException($"row {r}: prompt + response = {len} tokens exceed max_text_len {c.MaxTextLen}");
            length = Math.Max(length, len);
        }
        var ids = new long[batch * length];
        for (int r = 0; r < batch; r++)
        {
            for (int j = 0; j < prompts[r].Length; j++) ids[r * length + j] = prompts[r][j];
            for (int j = 0; j < responses[r].Length; j++) ids[r * length + prompts[r].Length + j] = responses[r][j];
        }
        var device = model.Device;
        var tokens = tensor(ids, [batch, length], device: device);
        var x = cat([model.EncodeImage(Images(pixels, c, device)), model.text.tok_embed.forward(tokens)], 1);
        var positions = arange(p + length, dtype: ScalarType.Int64, device: device).expand(batch, p + length);
        var hidden = model.Decode(x, positions).narrow(1, p - 1, length).reshape(batch * length, c.TextDim);
        return (model.lm_head.forward(hidden), length);
    }

    /// <summary>Stacks channel-first images into [B, C, S, S] on <paramref name="device"/>, checking each one's size.</summary>
    public static Tensor Images(IReadOnlyList<float[]> pixels, MiniVlmConfig c, Device device)
    {
        int n = c.Channels * c.ImageSize * c.ImageSize;
        var data = new float[pixels.Count * n];
        for (int r = 0; r < pixels.Count; r++)
        {
            if (pixels[r].Length != n) throw new ArgumentException($"image {r} has {pixels[r].Length} values, expected {c.Channels}x{c.ImageSize}x{c.ImageSize} = {n}");
            Array.Copy(pixels[r], 0, data, r * n, n);
        }
        return tensor(data, [pixels.Count, c.Channels, c.ImageSize, c.ImageSize], device: device);
    }
}
