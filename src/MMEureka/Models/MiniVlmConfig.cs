using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Models;

/// <summary>
/// Shape of the MiniVlm policy (ARCHITECTURE.md "The policy model"). Defaults are the spec's default model;
/// <see cref="ForPreset"/> is the one dial (tiny for CI, quick for a first run, full for the reproduction).
/// Serialised as config.json with the snake_case keys that bench/parity.py reads.
/// </summary>
public sealed record MiniVlmConfig
{
    /// <summary>Side of the square input image in pixels.</summary>
    public int ImageSize { get; init; } = 48;
    /// <summary>Colour channels of the input image.</summary>
    public int Channels { get; init; } = 3;
    /// <summary>Side of a square patch in pixels.</summary>
    public int PatchSize { get; init; } = 8;
    /// <summary>Width of the vision encoder.</summary>
    public int VisionDim { get; init; } = 96;
    /// <summary>Number of vision transformer blocks.</summary>
    public int VisionLayers { get; init; } = 2;
    /// <summary>Attention heads in the vision encoder.</summary>
    public int VisionHeads { get; init; } = 4;
    /// <summary>Width of the text decoder.</summary>
    public int TextDim { get; init; } = 128;
    /// <summary>Number of causal text blocks.</summary>
    public int TextLayers { get; init; } = 4;
    /// <summary>Attention heads in the text decoder.</summary>
    public int TextHeads { get; init; } = 4;
    /// <summary>MLP hidden width as a multiple of the block width.</summary>
    public int MlpRatio { get; init; } = 4;
    /// <summary>LayerNorm epsilon.</summary>
    public float LayerNormEps { get; init; } = 1e-5f;
    /// <summary>Most text tokens (prompt + response) after the image positions.</summary>
    public int MaxTextLen { get; init; } = 192;
    /// <summary>Vocabulary size (the tokenizer's).</summary>
    public int VocabSize { get; init; } = 106;

    /// <summary>Patches per image side.</summary>
    public int PatchesPerSide => ImageSize / PatchSize;
    /// <summary>Image positions at the start of every sequence (one per patch).</summary>
    public int ImageTokens => PatchesPerSide * PatchesPerSide;
    /// <summary>Features of one flattened patch: channels * patch * patch.</summary>
    public int PatchFeatures => Channels * PatchSize * PatchSize;
    /// <summary>Longest full sequence: image positions + text.</summary>
    public int MaxSequence => ImageTokens + MaxTextLen;

    /// <summary>The model of a preset: tiny (unit tests and CI notebooks), quick and full (the spec's default).</summary>
    public static MiniVlmConfig ForPreset(string preset) => preset switch
    {
        "tiny" => new MiniVlmConfig { VisionDim = 32, VisionLayers = 1, VisionHeads = 2, TextDim = 48, TextLayers = 2, TextHeads = 2 },
        "quick" or "full" => new MiniVlmConfig(),
        _ => throw new ArgumentException($"unknown preset '{preset}' (expected tiny, quick or full)"),
    };

    /// <summary>Throws with the offending field when the shape cannot be built.</summary>
    public MiniVlmConfig Validate()
    {
        void Positive(int v, string name) { if (v <= 0) throw new ArgumentException($"config field {name} must be positive, got {v}"); }
        Positive(ImageSize, "image_size"); Positive(Channels, "channels"); Positive(PatchSize, "patch_size");
        Positive(VisionDim, "vision_dim"); Positive(VisionLayers, "vision_layers"); Positive(VisionHeads, "vision_heads");
        Positive(TextDim, "text_dim"); Positive(TextLayers, "text_layers"); Positive(TextHeads, "text_heads");
        Positive(MlpRatio, "mlp_ratio"); Positive(MaxTextLen, "max_text_len"); Positive(VocabSize, "vocab_size");
        if (ImageSize % PatchSize != 0) throw new ArgumentException($"config field image_size ({ImageSize}) is not a multiple of patch_size ({PatchSize})");
        if (VisionDim % VisionHeads != 0) throw new ArgumentException($"config field vision_dim ({VisionDim}) is not divisible by vision_heads ({VisionHeads})");
        if (TextDim % TextHeads != 0) throw new ArgumentException($"config field text_dim ({TextDim}) is not divisible by text_heads ({TextHeads})");
        if (!(LayerNormEps > 0)) throw new ArgumentException($"config field layer_norm_eps must be positive, got {LayerNormEps}");
        return this;
    }

    /// <summary>config.json text (snake_case keys, the ones bench/parity.py reads).</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["image_size"] = ImageSize, ["channels"] = Channels, ["patch_size"] = PatchSize,
            ["vision_dim"] = VisionDim, ["vision_layers"] = VisionLayers, ["vision_heads"] = VisionHeads,
            ["text_dim"] = TextDim, ["text_layers"] = TextLayers, ["text_heads"] = TextHeads,
            ["mlp_ratio"] = MlpRatio, ["layer_norm_eps"] = (double)(decimal)LayerNormEps,
            ["max_text_len"] = MaxTextLen, ["vocab_size"] = VocabSize,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Parses config.json; every key is required, and errors name the file and the key.</summary>
    public static MiniVlmConfig FromJson(string json, string source = "config.json")
    {
        JsonObject o;
        try { o = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("not a JSON object"); }
        catch (Exception e) when (e is JsonException or FormatException)
        { throw new FormatException($"{source}: {e.Message}", e); }

        int Int(string key)
        {
            if (o[key] is not JsonValue v || !v.TryGetValue<int>(out var i))
                throw new FormatException($"{source}: key '{key}' is missing or not an integer");
            return i;
        }
        float Float(string key)
        {
            if (o[key] is not JsonValue v || !v.TryGetValue<double>(out var d))
                throw new FormatException($"{source}: key '{key}' is missing or not a number");
            return (float)d;
        }
        try
        {
            return new MiniVlmConfig
            {
                ImageSize = Int("image_size"), Channels = Int("channels"), PatchSize = Int("patch_size"),
                VisionDim = Int("vision_dim"), VisionLayers = Int("vision_layers"), VisionHeads = Int("vision_heads"),
                TextDim = Int("text_dim"), TextLayers = Int("text_layers"), TextHeads = Int("text_heads"),
                MlpRatio = Int("mlp_ratio"), LayerNormEps = Float("layer_norm_eps"),
                MaxTextLen = Int("max_text_len"), VocabSize = Int("vocab_size"),
            }.Validate();
        }
        catch (ArgumentException e) { throw new FormatException($"{source}: {e.Message}", e); }
    }
}
