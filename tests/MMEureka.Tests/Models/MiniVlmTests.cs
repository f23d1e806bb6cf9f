using MMEureka.Models;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Models;

public class MiniVlmTests
{
    [Fact]
    public void DefaultModelHasExactlyTheSpecParameterNamesAndShapes()
    {
        var model = new MiniVlm(new MiniVlmConfig());
        var expected = new Dictionary<string, long[]>
        {
            ["vision.patch_embed.weight"] = [96, 192], ["vision.patch_embed.bias"] = [96],
            ["vision.pos_embed"] = [36, 96],
            ["vision.norm.weight"] = [96], ["vision.norm.bias"] = [96],
            ["projector.fc1.weight"] = [128, 96], ["projector.fc1.bias"] = [128],
            ["projector.fc2.weight"] = [128, 128], ["projector.fc2.bias"] = [128],
            ["text.tok_embed.weight"] = [106, 128], ["text.pos_embed"] = [36 + 192, 128],
            ["text.norm.weight"] = [128], ["text.norm.bias"] = [128],
            ["lm_head.weight"] = [106, 128],
        };
        void Block(string prefix, int d)
        {
            expected[prefix + "ln1.weight"] = [d]; expected[prefix + "ln1.bias"] = [d];
            expected[prefix + "attn.qkv.weight"] = [3 * d, d]; expected[prefix + "attn.qkv.bias"] = [3 * d];
            expected[prefix + "attn.proj.weight"] = [d, d]; expected[prefix + "attn.proj.bias"] = [d];
            expected[prefix + "ln2.weight"] = [d]; expected[prefix + "ln2.bias"] = [d];
            expected[prefix + "mlp.fc1.weight"] = [4 * d, d]; expected[prefix + "mlp.fc1.bias"] = [4 * d];
            expected[prefix + "mlp.fc2.weight"] = [d, 4 * d]; expected[prefix + "mlp.fc2.bias"] = [d];
        }
        for (int i = 0; i < 2; i++) Block($"vision.blocks.{i}.", 96);
        for (int i = 0; i < 4; i++) Block($"text.blocks.{i}.", 128);

        var actual = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, shape) in expected) Assert.True(shape.SequenceEqual(actual[name]), name);
        Assert.Equal(expected.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)), model.ParameterCount());
    }

    [Fact]
    public void ForwardGivesLogitsForImageAndTextPositions()
    {
        var model = TestModels.Model();
        var pixels = Sampler.ImageBatch([TestModels.Image(1), TestModels.Image(2)], TestModels.Tiny);
        var tokens = new[] { 1, 20, 30, 40, 1, 21, 31, 41 };
        var logits = model.forward(pixels, tokens, 4);
        Assert.Equal([2L, 36 + 4, 106], logits.shape);
    }

    [Fact]
    public void PatchifyFollowsRowMajorPatchesAndChannelPyPxFeatures()
    {
        var c = TestModels.Tiny;
        int s = c.ImageSize;
        var px = TestModels.Image(3);
        var patches = VisionEncoder.Patchify(tensor(px, [1, 3, s, s]), c).data<float>();
        // patch p = row * 6 + col, feature ch * 64 + py * 8 + px; value (x - 0.5) / 0.5
        foreach (var (row, col, ch, py, pxx) in new[] { (0, 0, 0, 0, 0), (2, 5, 1, 3, 7), (5, 1, 2, 7, 2) })
        {
            int p = row * 6 + col, f = ch * 64 + py * 8 + pxx;
            float source = px[ch * s * s + (row * 8 + py) * s + col * 8 + pxx];
            Assert.Equal((source - 0.5f) / 0.5f, patches[p * 192 + f], 6);
        }
    }

    [Fact]
    public void TheImageChangesTheTextLogits()
    {
        var model = TestModels.Model();
        var a = model.forward(Sampler.ImageBatch([TestModels.Image(1)], TestModels.Tiny), [1, 20, 30], 3).data<float>();
        var b = model.forward(Sampler.ImageBatch([TestModels.Image(2)], TestModels.Tiny), [1, 20, 30], 3).data<float>();
        int lastRow = (36 + 2) * 106;
        double diff = 0;
        for (int v = 0; v < 106; v++) diff = Math.Max(diff, Math.Abs(a[lastRow + v] - b[lastRow + v]));
        Assert.True(diff > 1e-4, $"last-token logits differ by only {diff}");
    }

    [Fact]
    public void SameSeedSameWeightsOtherSeedOtherWeights()
    {
        float W(MiniVlm m) => m.text.blocks[0].attn.qkv.weight.data<float>()[5];
        Assert.Equal(W(TestModels.Model(7)), W(TestModels.Model(7)));
        Assert.NotEqual(W(TestModels.Model(7)), W(TestModels.Model(8)));
    }

    [Fact]
    public void CheckpointRoundTripKeepsLogitsAndWritesTheSpecFiles()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mmeureka-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            var model = TestModels.Model(3);
            model.Save(dir);
            Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")));
            var json = File.ReadAllText(Path.Combine(dir, "config.json"));
            foreach (var key in new[] { "image_size", "channels", "patch_size", "vision_dim", "vision_layers", "vision_heads", "text_dim", "text_layers", "text_heads", "mlp_ratio", "layer_norm_eps", "max_text_len", "vocab_size" })
                Assert.Contains($"\"{key}\"", json);
            Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(dir)!, Path.GetFileName(dir) + ".tmp-*"));

            var loaded = MiniVlm.Load(dir);
            Assert.Equal(model.Config, loaded.Config);
            var px = Sampler.ImageBatch([TestModels.Image(4)], TestModels.Tiny);
            Assert.Equal(model.forward(px, [1, 50, 60], 3).data<float>(), loaded.forward(px, [1, 50, 60], 3).data<float>());

            // Saving again over an existing checkpoint replaces it.
            TestModels.Model(4).Save(dir);
            Assert.NotEqual(model.lm_head.weight.data<float>(), MiniVlm.Load(dir).lm_head.weight.data<float>());
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void LoadNamesTheMissingKeyOrFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mmeureka-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            TestModels.Model().Save(dir);
            var cfg = Path.Combine(dir, "config.json");
            File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"text_heads\"", "\"text_headz\""));
            var e = Assert.Throws<FormatException>(() => MiniVlm.Load(dir));
            Assert.Contains("text_heads", e.Message);
            Assert.Contains("config.json", e.Message);
            TestModels.Model().Save(dir);
            File.Delete(Path.Combine(dir, "model.safetensors"));
            Assert.Contains("model.safetensors", Assert.Throws<FileNotFoundException>(() => MiniVlm.Load(dir)).Message);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConfigJsonRoundTripsAndRejectsBadShapes()
    {
        var c = MiniVlmConfig.ForPreset("tiny");
        Assert.Equal(c, MiniVlmConfig.FromJson(c.ToJson()));
        Assert.Contains("1e-05", c.ToJson().Replace("1E-05", "1e-05"));
        Assert.Throws<ArgumentException>(() => (c with { TextHeads = 5 }).Validate());
        Assert.Throws<ArgumentException>(() => MiniVlmConfig.ForPreset("huge"));
    }
    [Fact]
    public void DecodeLastGivesTheLastPositionOfDecodeAndTheSameCache()
    {
        var model = TestModels.Model(3);
        var c = model.Config;
        using var _ = inference_mode();
        var pixels = Sampler.ImageBatch([TestModels.Image(1), TestModels.Image(2)], c);
        var prompt = TestModels.Prompt("3+4=?");
        var ids = prompt.Concat(prompt).ToArray();
        var x = cat([model.EncodeImage(pixels), model.EmbedTokens(ids, 2, prompt.Length)], 1);
        int t = c.ImageTokens + prompt.Length;
        var positions = Enumerable.Range(0, 2 * t).Select(i => i % t).ToArray();
        var full = new KVCache(c.TextLayers, 2, c.TextHeads, t + 1, c.TextDim / c.TextHeads);
        var last = new KVCache(c.TextLayers, 2, c.TextHeads, t + 1, c.TextDim / c.TextHeads);
        var expected = model.Decode(x, positions, null, full).narrow(1, t - 1, 1).contiguous().data<float>();
        var got = model.DecodeLast(x, positions, last).data<float>();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < got.Length; i++) Assert.Equal(expected[i], got[i], 1e-4f);
        var next = model.EmbedTokens([5, 6], 2, 1);
        Assert.Equal(model.Decode(next, [t, t], null, full).data<float>(), model.Decode(next, [t, t], null, last).data<float>());
    }
}
