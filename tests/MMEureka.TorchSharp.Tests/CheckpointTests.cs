using MMEureka.Models;
using MMEureka.Twin;
using static TorchSharp.torch;

namespace MMEureka.TorchSharp.Tests;

/// <summary>The twin reads and writes the engine's checkpoint folders.</summary>
public class CheckpointTests
{
    [SkippableFact]
    public void Engine_to_twin_to_engine_is_bit_identical()
    {
        Twin.RequireLibTorch();
        var src = Twin.Checkpoint(Twin.Tiny, 7, "src");
        var dst = Twin.TempDir("dst");
        try
        {
            using (var twin = TwinCheckpoint.Load(src, out var tok)) TwinCheckpoint.Save(twin, dst, tok);
            var a = MiniVlm.Load(src);
            var b = MiniVlm.Load(dst);
            Assert.Equal(a.Config, b.Config);
            var bt = b.named_parameters().ToDictionary(x => x.name, x => x.parameter.data<float>());
            foreach (var (name, p) in a.named_parameters())
                Assert.True(p.data<float>().AsSpan().SequenceEqual(bt[name]), name);
            Assert.Equal(File.ReadAllText(Path.Combine(src, "tokenizer.json")), File.ReadAllText(Path.Combine(dst, "tokenizer.json")));
        }
        finally
        {
            Directory.Delete(src, recursive: true);
            if (Directory.Exists(dst)) Directory.Delete(dst, recursive: true);
        }
    }

    [SkippableFact]
    public void Twin_parameter_names_are_the_checkpoint_names()
    {
        Twin.RequireLibTorch();
        using var twin = new TwinVlm(Twin.Tiny);
        var engine = new MiniVlm(Twin.Tiny);
        Assert.Equal(engine.named_parameters().Select(p => (p.name, string.Join("x", p.parameter.shape))).OrderBy(p => p.name),
                     twin.named_parameters().Select(p => (p.name, string.Join("x", p.parameter.shape))).OrderBy(p => p.name));
        Assert.Contains(twin.named_parameters(), p => p.name == "text.blocks.1.attn.qkv.weight");
    }

    [SkippableFact]
    public void A_checkpoint_of_another_shape_is_refused_naming_the_tensor()
    {
        Twin.RequireLibTorch();
        var dir = Twin.Checkpoint(Twin.Tiny, 1, "shape");
        try
        {
            var other = new TwinVlm(Twin.Tiny with { TextDim = 64, TextHeads = 2 });
            var file = MMEureka.Torch.SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
            var e = Assert.Throws<InvalidDataException>(() => TwinCheckpoint.CopyInto(other, file, "model.safetensors"));
            Assert.Contains("model.safetensors: tensor ", e.Message);
            Assert.Contains("the model needs", e.Message);
            File.Delete(Path.Combine(dir, "config.json"));
            Assert.Throws<FileNotFoundException>(() => TwinCheckpoint.Load(dir, out _));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableFact]
    public void Unknown_device_and_missing_cuda_give_clear_errors()
    {
        Twin.RequireLibTorch();
        Assert.Contains("--device must be", Assert.Throws<ArgumentException>(() => LibTorch.Device("tpu")).Message);
        if (!cuda.is_available())
            Assert.Contains("-p:LibTorch=cuda", Assert.Throws<InvalidOperationException>(() => LibTorch.Device("cuda")).Message);
    }
}
