namespace MMEureka.Torch;

public static partial class SafeTensors
{
    /// <summary>The entries of a state dict (name -> tensor), each tensor copied in row-major order, for <see cref="Save"/>.</summary>
    public static List<SafeTensorEntry> FromStateDict(IEnumerable<KeyValuePair<string, Tensor>> stateDict)
    {
        var entries = new List<SafeTensorEntry>();
        foreach (var (name, tensor) in stateDict) entries.Add(new SafeTensorEntry(name, tensor.shape, tensor.ToArray()));
        return entries;
    }

    /// <summary>A state dict over the tensors of a loaded file (each tensor owns its entry's array; no copy).</summary>
    public static Dictionary<string, Tensor> ToStateDict(SafeTensorFile file)
    {
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var e in file.Tensors) dict[e.Name] = new Tensor(e.Data, Tensor.ToInt(e.Shape));
        return dict;
    }
}

public static partial class torch
{
    public static partial class nn
    {
        public abstract partial class Module
        {
            /// <summary>Writes <see cref="state_dict"/> to <paramref name="path"/> as safetensors (F32, keys are the dotted
            /// names), through a temporary file that is renamed, so a crash never leaves half a file.</summary>
            public Module save(string path, IReadOnlyDictionary<string, string>? metadata = null)
            {
                SafeTensors.Save(path, SafeTensors.FromStateDict(state_dict()), metadata);
                return this;
            }

            /// <summary>Loads parameters and buffers from a safetensors file written by <see cref="save"/> (or by PyTorch
            /// with the same names). Nothing is changed unless every check passes; with <paramref name="strict"/> a
            /// missing or unexpected key is an error, a shape mismatch always is. Errors name the file and the keys.</summary>
            public Module load(string path, bool strict = true)
            {
                var file = SafeTensors.Load(path);
                try
                {
                    load_state_dict(SafeTensors.ToStateDict(file), strict);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"{path}: {e.Message}", e);
                }
                return this;
            }
        }
    }
}
