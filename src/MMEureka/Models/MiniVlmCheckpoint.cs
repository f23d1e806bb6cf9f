using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Models;

public sealed partial class MiniVlm
{
    /// <summary>File names inside a checkpoint folder.</summary>
    public const string WeightsFile = "model.safetensors", ConfigFile = "config.json", TokenizerFile = "tokenizer.json";

    /// <summary>
    /// Writes a checkpoint folder (model.safetensors, config.json, tokenizer.json, plus whatever
    /// <paramref name="extra"/> writes into the folder) under a temporary name and renames it to
    /// <paramref name="dir"/>, so a crash leaves either the old checkpoint or the new one, never half of one.
    /// </summary>
    public void Save(string dir, Tokenizer? tokenizer = null, Action<string>? extra = null)
    {
        dir = Path.GetFullPath(dir.TrimEnd('/', '\\'));
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        string tmp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        try
        {
            var entries = named_parameters().Select(np => new SafeTensorEntry(np.name, np.parameter.shape, np.parameter.data<float>()));
            SafeTensors.Save(Path.Combine(tmp, WeightsFile), entries);
            File.WriteAllText(Path.Combine(tmp, ConfigFile), Config.ToJson());
            (tokenizer ?? new Tokenizer()).Save(Path.Combine(tmp, TokenizerFile));
            extra?.Invoke(tmp);
            ReplaceDirectory(tmp, dir);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }

    /// <summary>Moves <paramref name="tmp"/> to <paramref name="dir"/>, replacing an existing folder: the old one is
    /// renamed aside first and deleted only after the new one is in place.</summary>
    internal static void ReplaceDirectory(string tmp, string dir)
    {
        string? old = null;
        if (Directory.Exists(dir))
        {
            old = $"{dir}.old-{Environment.ProcessId}-{Guid.NewGuid():N}";
            Directory.Move(dir, old);
        }
        Directory.Move(tmp, dir);
        if (old != null) Directory.Delete(old, recursive: true);
    }

    /// <summary>Loads a checkpoint folder; errors name the folder and the file or tensor at fault.</summary>
    public static MiniVlm Load(string dir) => Load(dir, out _);

    /// <summary>Loads a checkpoint folder and its tokenizer.</summary>
    public static MiniVlm Load(string dir, out Tokenizer tokenizer)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"checkpoint folder {dir} does not exist");
        string Need(string name)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint {dir} has no {name}", path);
            return path;
        }
        var config = MiniVlmConfig.FromJson(File.ReadAllText(Need(ConfigFile)), Need(ConfigFile));
        tokenizer = Tokenizer.Load(Need(TokenizerFile));
        if (tokenizer.VocabSize != config.VocabSize)
            throw new InvalidDataException($"{Need(TokenizerFile)}: {tokenizer.VocabSize} tokens but config.json says vocab_size {config.VocabSize}");
        var file = SafeTensors.Load(Need(WeightsFile));
        var model = new MiniVlm(config);
        var dict = new Dictionary<string, Tensor>();
        foreach (var e in file.Tensors) dict[e.Name] = tensor(e.Data, e.Shape);
        try { model.load_state_dict(dict, strict: true); }
        catch (ArgumentException e) { throw new InvalidDataException($"{Need(WeightsFile)}: {e.Message}", e); }
        return model;
    }
}
