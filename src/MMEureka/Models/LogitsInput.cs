using System.Text.Json;
using MMEureka.Display;

namespace MMEureka.Models;

/// <summary>
/// The input of <c>mmeureka model logits</c> (and bench/parity.py vlm): a JSON object with "tokens" (ids) and
/// either "image" (a PNG path, relative to the JSON file's folder) or "pixels" (C*S*S floats in [0, 1],
/// index c*S*S + y*S + x).
/// </summary>
public sealed record LogitsInput(float[] Pixels, int[] Tokens)
{
    /// <summary>Reads and validates IN.json against <paramref name="config"/>; errors name the file and field.</summary>
    public static LogitsInput Read(string path, MiniVlmConfig config)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (JsonException e) { throw new FormatException($"{path}: invalid JSON ({e.Message})", e); }
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{path}: expected a JSON object");

        if (!root.TryGetProperty("tokens", out var tokensEl) || tokensEl.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{path}: field tokens (an array of token ids) is missing");
        var tokens = new int[tokensEl.GetArrayLength()];
        int i = 0;
        foreach (var t in tokensEl.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out var id) || id < 0 || id >= config.VocabSize)
                throw new FormatException($"{path}: tokens[{i}] = {t.GetRawText()} is not a token id in [0, {config.VocabSize})");
            tokens[i++] = id;
        }
        if (tokens.Length == 0) throw new FormatException($"{path}: field tokens is empty");
        if (tokens.Length > config.MaxTextLen) throw new FormatException($"{path}: {tokens.Length} tokens exceed max_text_len {config.MaxTextLen}");

        int n = config.Channels * config.ImageSize * config.ImageSize;
        float[] pixels;
        if (root.TryGetProperty("image", out var imageEl))
        {
            if (imageEl.ValueKind != JsonValueKind.String) throw new FormatException($"{path}: field image must be a PNG path");
            var imagePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, imageEl.GetString()!);
            pixels = FromImage(Png.Load(imagePath), config, imagePath);
        }
        else if (root.TryGetProperty("pixels", out var pixelsEl) && pixelsEl.ValueKind == JsonValueKind.Array)
        {
            if (pixelsEl.GetArrayLength() != n)
                throw new FormatException($"{path}: field pixels has {pixelsEl.GetArrayLength()} values, expected {config.Channels}*{config.ImageSize}*{config.ImageSize} = {n}");
            pixels = new float[n];
            int k = 0;
            foreach (var v in pixelsEl.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || v.GetDouble() is < 0 or > 1)
                    throw new FormatException($"{path}: pixels[{k}] = {v.GetRawText()} is not a number in [0, 1]");
                pixels[k++] = (float)v.GetDouble();
            }
        }
        else throw new FormatException($"{path}: needs a field image (PNG path) or pixels ({n} floats)");
        return new LogitsInput(pixels, tokens);
    }

    /// <summary>An RGB(A) or grey image of the model's size as channel-first floats in [0, 1] (alpha ignored).</summary>
    public static float[] FromImage(RasterImage image, MiniVlmConfig config, string source = "image")
    {
        image.Validate();
        int s = config.ImageSize;
        if (image.Width != s || image.Height != s) throw new FormatException($"{source}: image is {image.Width}x{image.Height}, the model takes {s}x{s}");
        if (config.Channels != 3) throw new FormatException($"{source}: only 3-channel models read images");
        var result = new float[3 * s * s];
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
                for (int c = 0; c < 3; c++)
                {
                    int src = (y * s + x) * image.Channels + (image.Channels == 1 ? 0 : c);
                    result[c * s * s + y * s + x] = image.Pixels[src] / 255f;
                }
        return result;
    }
}
