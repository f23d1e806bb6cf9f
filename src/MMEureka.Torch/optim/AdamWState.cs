namespace MMEureka.Torch.Modules;

public sealed partial class AdamW
{
    /// <summary>
    /// Writes the moments (<c>m.NAME</c>, <c>v.NAME</c>) and the per-parameter update counts (metadata <c>t</c>) to a
    /// safetensors file, so that a resumed run continues exactly. Parameters not yet updated are written as zeros.
    /// </summary>
    public void save_state(string path, IReadOnlyList<(string name, Tensor parameter)> named)
    {
        var entries = new List<SafeTensorEntry>(2 * named.Count);
        foreach (var (name, parameter) in named)
        {
            entries.Add(new SafeTensorEntry("m." + name, parameter.shape, State(_m, parameter)));
            entries.Add(new SafeTensorEntry("v." + name, parameter.shape, State(_v, parameter)));
        }
        var counts = string.Join(",", named.Select(p => _t.GetValueOrDefault(p.parameter)));
        SafeTensors.Save(path, entries, new Dictionary<string, string> { ["t"] = counts });
    }

    /// <summary>Restores what <see cref="save_state"/> wrote for the same named parameters; errors name the file and
    /// the tensor, and nothing is changed unless the whole file fits.</summary>
    public void load_state(string path, IReadOnlyList<(string name, Tensor parameter)> named)
    {
        var file = SafeTensors.Load(path);
        var counts = file.Metadata.TryGetValue("t", out var text) ? text.Split(',') : [];
        var steps = new int[counts.Length];
        if (counts.Length != named.Count || !counts.Select((c, i) => int.TryParse(c, System.Globalization.CultureInfo.InvariantCulture, out steps[i])).All(ok => ok))
            throw new InvalidDataException($"{path}: metadata t must hold {named.Count} update counts");
        var loaded = new List<(Tensor parameter, float[] m, float[] v)>(named.Count);
        foreach (var (name, parameter) in named)
        {
            float[] Get(string key)
            {
                if (!file.TryGet(key, out var entry)) throw new InvalidDataException($"{path}: tensor {key} is missing");
                if (entry.Data.Length != parameter.numel())
                    throw new InvalidDataException($"{path}: tensor {key} has {entry.Data.Length} values, expected {parameter.numel()}");
                return entry.Data;
            }
            loaded.Add((parameter, Get("m." + name), Get("v." + name)));
        }
        for (int i = 0; i < loaded.Count; i++)
        {
            var (parameter, m, v) = loaded[i];
            _m[parameter] = m;
            _v[parameter] = v;
            _t[parameter] = steps[i];
        }
    }
}
