using System.Numerics.Tensors;
using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Modules;

/// <summary>SGD, PyTorch's update: g += wd p; b = g (first step) or momentum b + (1 - dampening) g;
/// g = nesterov ? g + momentum b : b; p -= lr g.</summary>
public sealed class SGD(IEnumerable<optim.ParamGroup> groups, double lr, double momentum, double dampening, double weightDecay, bool nesterov)
    : optim.Optimizer(groups, lr, weightDecay)
{
    private readonly Dictionary<Tensor, float[]> _momentum = new(ReferenceEqualityComparer.Instance);

    protected override void Update(Tensor parameter, Tensor grad, double lr, double weightDecay)
    {
        var p = Values(parameter);
        var g0 = GradValues(grad);
        var g = g0.ToArray().AsSpan();
        if (weightDecay != 0) TensorPrimitives.MultiplyAdd(p, (float)weightDecay, g, g);
        if (momentum != 0)
        {
            bool first = !_momentum.ContainsKey(parameter);
            var b = State(_momentum, parameter).AsSpan();
            if (first) g.CopyTo(b);
            else
            {
                TensorPrimitives.Multiply(b, (float)momentum, b);
                TensorPrimitives.MultiplyAdd(g, (float)(1 - dampening), b, b);
            }
            if (nesterov) TensorPrimitives.MultiplyAdd(b, (float)momentum, g, g);
            else b.CopyTo(g);
        }
        TensorPrimitives.MultiplyAdd(g, (float)-lr, p, p);
    }
}
