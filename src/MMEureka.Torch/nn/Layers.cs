using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Modules;

/// <summary>y = x W^T + b, W [out, in] (PyTorch layout), initialised like PyTorch: U(-1/sqrt(in), 1/sqrt(in)).</summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    /// <summary>[out, in].</summary>
    public readonly Tensor weight;
    /// <summary>[out], or null without bias.</summary>
    public readonly Tensor? bias;

    public Linear(long inFeatures, long outFeatures, bool hasBias = true)
    {
        weight = nn.Parameter(empty(outFeatures, inFeatures));
        nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
        if (hasBias)
        {
            bias = nn.Parameter(empty(outFeatures));
            double bound = 1 / Math.Sqrt(inFeatures);
            nn.init.uniform_(bias, -bound, bound);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => nn.functional.linear(input, weight, bias);
}

/// <summary>A lookup table of <c>num_embeddings</c> vectors, initialised N(0, 1) like PyTorch.</summary>
public sealed class Embedding : nn.Module<Tensor, Tensor>
{
    /// <summary>[num_embeddings, dim].</summary>
    public readonly Tensor weight;

    public Embedding(long numEmbeddings, long embeddingDim)
    {
        weight = nn.Parameter(randn(numEmbeddings, embeddingDim));
        RegisterComponents();
    }

    /// <summary>Embeds an id tensor of whole numbers.</summary>
    public override Tensor forward(Tensor input) => nn.functional.embedding(input, weight);

    /// <summary>Embeds ids laid out with <paramref name="shape"/> (the fast path for token ids).</summary>
    public Tensor forward(int[] ids, params long[] shape) => nn.functional.embedding(ids, shape.Length == 0 ? [ids.Length] : shape, weight);
}

/// <summary>Layer normalisation over the last dimension, weight 1 and bias 0 at init.</summary>
public sealed class LayerNorm : nn.Module<Tensor, Tensor>
{
    public readonly Tensor? weight;
    public readonly Tensor? bias;
    private readonly long[] _shape;
    private readonly double _eps;

    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        _shape = normalizedShape;
        _eps = eps;
        if (elementwiseAffine)
        {
            weight = nn.Parameter(ones(normalizedShape));
            bias = nn.Parameter(zeros(normalizedShape));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => nn.functional.layer_norm(input, _shape, weight, bias, _eps);

    /// <summary>eps as layer_norm uses it (a float).</summary>
    internal float Eps => (float)_eps;
}

/// <summary>RMS normalisation over the last dimension, weight 1 at init.</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    public readonly Tensor weight;
    private readonly long[] _shape;
    private readonly double _eps;

    public RMSNorm(long[] normalizedShape, double eps = 1e-6)
    {
        _shape = normalizedShape;
        _eps = eps;
        weight = nn.Parameter(ones(normalizedShape));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => nn.functional.rms_norm(input, _shape, weight, _eps);
}

/// <summary>Dropout in training mode, identity in eval mode.</summary>
public sealed class Dropout(double p = 0.5, Generator? generator = null) : nn.Module<Tensor, Tensor>
{
    public override Tensor forward(Tensor input) => nn.functional.dropout(input, p, training, generator);
}

/// <summary>Exact (erf) GELU.</summary>
public sealed class GELU : nn.Module<Tensor, Tensor>
{
    public override Tensor forward(Tensor input) => input.gelu();
}

/// <summary>Children named "0", "1", ... applied in order.</summary>
public sealed class Sequential : nn.Module<Tensor, Tensor>
{
    private readonly List<nn.Module<Tensor, Tensor>> _layers = [];

    public Sequential(IEnumerable<nn.Module<Tensor, Tensor>> layers)
    {
        foreach (var layer in layers)
        {
            register_module(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
            _layers.Add(layer);
        }
    }

    public override Tensor forward(Tensor input)
    {
        foreach (var layer in _layers) input = layer.forward(input);
        return input;
    }
}

/// <summary>An indexable list of modules registered as "0", "1", ... (e.g. "blocks.3.attn.qkv.weight").</summary>
public sealed class ModuleList<T> : nn.Module, IReadOnlyList<T> where T : nn.Module
{
    private readonly List<T> _items = [];

    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) append(m);
    }

    /// <summary>Adds a module at the end.</summary>
    public void append(T module)
    {
        register_module(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
    }

    public T this[int index] => _items[index];
    public int Count => _items.Count;
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
