using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Sft;

/// <summary>
/// AdamW (Loshchilov and Hutter 2019, Algorithm 2, PyTorch's update order) whose moments and step counts can be
/// saved and restored, so that a resumed run continues exactly. The engine's AdamW keeps its state private; once
/// it gains a state dict this class can go.
/// </summary>
public sealed class ResumableAdamW(IReadOnlyList<(string name, Tensor parameter)> parameters, double lr,
    double weightDecay = 0.01, double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-8)
    : optim.Optimizer([new optim.ParamGroup(parameters.Select(p => p.parameter))], lr, weightDecay)
{
    private readonly float[][] _m = parameters.Select(p => new float[p.parameter.numel()]).ToArray();
    private readonly float[][] _v = parameters.Select(p => new float[p.parameter.numel()]).ToArray();
    private readonly Dictionary<Tensor, int> _index = parameters.Select((p, i) => (p.parameter, i))
        .ToDictionary<(Tensor parameter, int i), Tensor, int>(x => x.parameter, x => x.i, ReferenceEqualityComparer.Instance);

    private readonly long[] _t = new long[parameters.Count]; // per-parameter update count (bias correction)

    protected override void Update(Tensor parameter, Tensor grad, double lr, double weightDecay)
    {
        int i = _index[parameter];
        var p = Values(parameter);
        var g = GradValues(grad);
        float[] m = _m[i], v = _v[i];
        long t = ++_t[i];
        float decay = (float)(1 - lr * weightDecay), b1 = (float)beta1, b2 = (float)beta2;
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        float stepSize = (float)(lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2), e = (float)eps;
        for (int k = 0; k < p.Length; k++)
        {
            m[k] = b1 * m[k] + (1 - b1) * g[k];
            v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
            p[k] = p[k] * decay - stepSize * m[k] / (MathF.Sqrt(v[k]) / bc2Sqrt + e);
        }
    }

    /// <summary>Writes the moments ("m.NAME", "v.NAME") and the update counts (metadata "t") to a safetensors file.</summary>
    public void Save(string path)
    {
        var entries = new List<SafeTensorEntry>();
        for (int i = 0; i < parameters.Count; i++)
        {
            var shape = parameters[i].parameter.shape;
            entries.Add(new SafeTensorEntry("m." + parameters[i].name, shape, _m[i]));
            entries.Add(new SafeTensorEntry("v." + parameters[i].name, shape, _v[i]));
        }
        SafeTensors.Save(path, entries, new Dictionary<string, string> { ["t"] = string.Join(",", _t) });
    }

    /// <summary>Restores what <see cref="Save"/> wrote; errors name the file and the tensor.</summary>
    public void Load(string path)
    {
        var file = SafeTensors.Load(path);
        var counts = file.Metadata.TryGetValue("t", out var text) ? text.Split(',') : [];
        if (counts.Length != parameters.Count || !counts.All(c => long.TryParse(c, out _)))
            throw new InvalidDataException($"{path}: metadata t must hold {parameters.Count} update counts");
        for (int i = 0; i < parameters.Count; i++)
            foreach (var (prefix, store) in new[] { ("m.", _m[i]), ("v.", _v[i]) })
            {
                if (!file.TryGet(prefix + parameters[i].name, out var entry))
                    throw new InvalidDataException($"{path}: tensor {prefix}{parameters[i].name} is missing");
                if (entry.Data.Length != store.Length)
                    throw new InvalidDataException($"{path}: tensor {prefix}{parameters[i].name} has {entry.Data.Length} values, expected {store.Length}");
                entry.Data.CopyTo(store, 0);
            }
        for (int i = 0; i < parameters.Count; i++) _t[i] = long.Parse(counts[i], System.Globalization.CultureInfo.InvariantCulture);
    }
}
