using System.Text.Json;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Cli.Bench;

/// <summary>Shape of the block parity fixture.</summary>
public sealed record BlockParityConfig(int Dim = 64, int Heads = 4, int Batch = 2, int Seq = 12, long Seed = 0);

/// <summary>
/// Writes what <c>bench/parity.py block DIR</c> reads: config.json and block.safetensors holding the parameters of one
/// causal <see cref="MMEureka.Torch.Modules.TransformerBlock"/> (<c>param.&lt;name&gt;</c>), an input, an upstream gradient, and the
/// engine's output and gradients of loss = sum(output * upstream) (<c>grad.input</c>, <c>grad.&lt;name&gt;</c>).
/// </summary>
public static class BlockParity
{
    /// <summary>Builds the block, runs forward and backward, writes both files (each to a temporary name, then renamed).</summary>
    public static void Write(string folder, BlockParityConfig config)
    {
        manual_seed(config.Seed);
        var block = nn.TransformerBlock(config.Dim, config.Heads);
        // LayerNorms start at weight 1, bias 0; move them off that point so their gradients are exercised too.
        using (no_grad())
            foreach (var (name, p) in block.named_parameters())
                if (name.StartsWith("ln", StringComparison.Ordinal))
                    p.add_(randn(p.shape).mul(0.1f));
        var x = randn(config.Batch, config.Seq, config.Dim).requires_grad_();
        var upstream = randn(config.Batch, config.Seq, config.Dim);
        var output = block.forward(x, causal: true);
        output.mul(upstream).sum().backward();

        var entries = new List<SafeTensorEntry>();
        foreach (var (name, p) in block.named_parameters())
        {
            entries.Add(new SafeTensorEntry("param." + name, p.shape, p.data<float>()));
            entries.Add(new SafeTensorEntry("grad." + name, p.shape, p.grad!.data<float>()));
        }
        entries.Add(new SafeTensorEntry("input", x.shape, x.data<float>()));
        entries.Add(new SafeTensorEntry("upstream", upstream.shape, upstream.data<float>()));
        entries.Add(new SafeTensorEntry("output", output.shape, output.data<float>()));
        entries.Add(new SafeTensorEntry("grad.input", x.shape, x.grad!.data<float>()));

        Directory.CreateDirectory(folder);
        SafeTensors.Save(Path.Combine(folder, "block.safetensors"), entries);
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["dim"] = config.Dim, ["heads"] = config.Heads, ["mlp_ratio"] = 4, ["eps"] = 1e-5, ["causal"] = true,
        });
        string path = Path.Combine(folder, "config.json"), temp = path + ".tmp";
        File.WriteAllText(temp, json);
        File.Move(temp, path, overwrite: true);
    }
}
