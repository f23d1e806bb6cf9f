using MMEureka.Models;
using TorchSharp;
using MMEureka.Torch;
using static TorchSharp.torch;

namespace MMEureka.Twin;

/// <summary>
/// Reads and writes the engine's checkpoint folders (model.safetensors, config.json, tokenizer.json) for
/// <see cref="TwinVlm"/>: the same files, tensor names and [out, in] Linear layout, so a checkpoint moves between the
/// engine, the twin and PyTorch unchanged. The safetensors bytes go through the engine's reader and writer, which the
/// rest of the project already tests.
/// </summary>
public static class TwinCheckpoint
{
    /// <summary>Loads <paramref name="dir"/> onto <paramref name="device"/> (default CPU); errors name the folder and the
    /// file or tensor at fault, and every tensor of the model must be in the file with its shape (and nothing else).</summary>
    public static TwinVlm Load(string dir, out Tokenizer tokenizer, Device? device = null)
    {
        LibTorch.EnsureLoaded();
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"checkpoint folder {dir} does not exist");
        string Need(string name)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint {dir} has no {name}", path);
            return path;
        }
        var config = MiniVlmConfig.FromJson(File.ReadAllText(Need(MiniVlm.ConfigFile)), Need(MiniVlm.ConfigFile));
        tokenizer = Tokenizer.Load(Need(MiniVlm.TokenizerFile));
        if (tokenizer.VocabSize != config.VocabSize)
            throw new InvalidDataException($"{Need(MiniVlm.TokenizerFile)}: {tokenizer.VocabSize} tokens but config.json says vocab_size {config.VocabSize}");
        var weights = Need(MiniVlm.WeightsFile);
        var file = SafeTensors.Load(weights);
        var model = new TwinVlm(config);
        CopyInto(model, file, weights);
        return device is null || device.type == DeviceType.CPU ? model : model.to(device);
    }

    /// <summary>Copies every tensor of <paramref name="file"/> into the parameter of the same name.</summary>
    internal static void CopyInto(TwinVlm model, SafeTensorFile file, string source)
    {
        var seen = new HashSet<string>();
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!file.TryGet(name, out var entry)) throw new InvalidDataException($"{source}: tensor {name} is missing");
            if (!entry.Shape.SequenceEqual(p.shape))
                throw new InvalidDataException($"{source}: tensor {name} is [{string.Join(", ", entry.Shape)}], the model needs [{string.Join(", ", p.shape)}]");
            using var t = tensor(entry.Data, entry.Shape);
            p.copy_(t);
            seen.Add(name);
        }
        var extra = file.Tensors.Select(t => t.Name).Where(n => !seen.Contains(n)).ToList();
        if (extra.Count > 0) throw new InvalidDataException($"{source}: tensor {extra[0]} is not part of the model ({extra.Count} unexpected)");
    }

    /// <summary>The parameters as safetensors entries (copied to the CPU), in the model's order.</summary>
    public static IEnumerable<SafeTensorEntry> Entries(TwinVlm model) =>
        model.named_parameters().Select(np =>
        {
            using var cpu = np.parameter.detach().cpu().contiguous();
            return new SafeTensorEntry(np.name, np.parameter.shape, cpu.data<float>().ToArray());
        });

    /// <summary>Writes a checkpoint folder the engine loads (<see cref="MiniVlm.Load(string)"/>): into a temporary
    /// folder first, renamed to <paramref name="dir"/> at the end, so a crash never leaves half a checkpoint.</summary>
    public static void Save(TwinVlm model, string dir, Tokenizer? tokenizer = null)
    {
        dir = Path.GetFullPath(dir.TrimEnd('/', '\\'));
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        string tmp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        try
        {
            SafeTensors.Save(Path.Combine(tmp, MiniVlm.WeightsFile), Entries(model).ToList());
            File.WriteAllText(Path.Combine(tmp, MiniVlm.ConfigFile), model.Config.ToJson());
            (tokenizer ?? new Tokenizer()).Save(Path.Combine(tmp, MiniVlm.TokenizerFile));
            string? old = null;
            if (Directory.Exists(dir))
            {
                old = $"{dir}.old-{Environment.ProcessId}-{Guid.NewGuid():N}";
                Directory.Move(dir, old);
            }
            Directory.Move(tmp, dir);
            if (old != null) Directory.Delete(old, recursive: true);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }
}
