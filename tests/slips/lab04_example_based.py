"""Slips in lab04_example_based the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
from wrong_answers.lab04_example_based import _WACHTER_HEAD

_WACHTER_LOOP = '''
    u = torch.zeros_like(x0, requires_grad=True)
    optimizer = torch.optim.Adam([u], lr=lr)
    for _ in range(max_rounds):
        for _ in range(n_steps):
            prediction = model((x0 + u * step)[None])[0]
            loss = lam * (prediction - target) ** 2 + (u * mask).abs().sum()
            u.grad, = torch.autograd.grad(loss, [u])
            optimizer.step()
        with torch.no_grad():
            prediction = float(model((x0 + u * step)[None])[0])
        if abs(prediction - target) <= eps:
            break
        lam *= lam_factor
'''

_MINIMAL = '''
def minimal_counterfactual(model, x, target, mad, *, mutable=None):
    w = model.coef_[0]
    x = np.asarray(x, dtype=float)
    gap = GAP
    usefulness = USEFULNESS
    if mutable is not None:
        usefulness = np.where(mutable, usefulness, -1.0)
    j = int(np.argmax(usefulness))
    x_cf = x.copy()
    x_cf[j] += gap / w[j]
    return x_cf
'''
_GAP = "np.log(target / (1 - target)) - (w @ x + model.intercept_[0])"

_MMD = '''
def mmd2(X, Z, *, gamma):
    X, Z = np.asarray(X, dtype=float), np.asarray(Z, dtype=float)
    def kernel(A, B):
        return KERNEL
    return float(RESULT)
'''
_SQ = "((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2)"

_GREEDY = '''
def greedy_prototypes(K, n_prototypes):
    K = np.asarray(K, dtype=float)
    data_term = K.mean(axis=0)
    chosen = []
    for _ in range(n_prototypes):
        m = M
        cross = 2 * (data_term[chosen].sum() + data_term) / m
        within = (K[np.ix_(chosen, chosen)].sum() + 2 * K[chosen].sum(axis=0) + np.diag(K)) / m**2
        objective = within - cross
        objective[chosen] = np.inf
        chosen.append(CHOOSE)
    return np.array(chosen)
'''

_INFLUENCE = '''
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    p = 1 / (1 + np.exp(-X @ theta))
    hessian = HESSIAN
    gradient_test = GTEST
    return (X * (p - y)[:, None]) @ np.linalg.solve(hessian, gradient_test)
'''
_HESSIAN = "(X * (p * (1 - p))[:, None]).T @ X + lam * np.eye(X.shape[1])"
_GTEST = "x_test * (1 / (1 + np.exp(-x_test @ theta)) - y_test)"

EXTRA = [
    # --- Wachter search
    Wrong("wachter", "wachter-ignores-mutable", _WACHTER_HEAD + '''
    mask = torch.ones(len(x))
    step = torch.tensor(mad, dtype=torch.float32)
''' + _WACHTER_LOOP + '''
    return x + mad * u.detach().double().numpy()
'''),
    Wrong("wachter", "wachter-modifies-x", _WACHTER_HEAD + '''
    mask = torch.tensor(free, dtype=torch.float32)
    step = torch.tensor(free * mad, dtype=torch.float32)
''' + _WACHTER_LOOP + '''
    x += free * mad * u.detach().double().numpy()  # np.asarray did not copy: this changes the caller's x
    return x
'''),
    Wrong("wachter", "wachter-squared-mad-weights", _WACHTER_HEAD + '''
    mask = torch.tensor(free, dtype=torch.float32)
    step = torch.tensor(free * mad, dtype=torch.float32)
    u = torch.zeros_like(x0, requires_grad=True)
    optimizer = torch.optim.Adam([u], lr=lr)
    for _ in range(max_rounds):
        for _ in range(n_steps):
            x_cf = x0 + u * step
            loss = lam * (model(x_cf[None])[0] - target) ** 2 + ((x_cf - x0).abs() / step.clamp(min=1e-12) ** 2).sum()
            u.grad, = torch.autograd.grad(loss, [u])
            optimizer.step()
        with torch.no_grad():
            prediction = float(model((x0 + u * step)[None])[0])
        if abs(prediction - target) <= eps:
            break
        lam *= lam_factor
    return x + free * mad * u.detach().double().numpy()
'''),
    # --- closed form
    Wrong("minimal_cf", "minimal-largest-raw-weight",
          _MINIMAL.replace("GAP", _GAP).replace("USEFULNESS", "np.abs(w)")),
    Wrong("minimal_cf", "minimal-ignores-mutable",
          _MINIMAL.replace("GAP", _GAP).replace("USEFULNESS", "np.abs(w) * mad").replace(
              "        usefulness = np.where(mutable, usefulness, -1.0)", "        pass")),
    Wrong("minimal_cf", "minimal-probability-not-logit",
          _MINIMAL.replace("GAP", "target - (w @ x + model.intercept_[0])").replace("USEFULNESS", "np.abs(w) * mad")),
    Wrong("minimal_cf", "minimal-forgets-intercept",
          _MINIMAL.replace("GAP", "np.log(target / (1 - target)) - w @ x").replace("USEFULNESS", "np.abs(w) * mad")),
    # --- DiCE's diversity
    Wrong("dpp", "dpp-l2-distance", '''
def dpp_diversity(C, mad):
    scaled = np.asarray(C, dtype=float) / mad
    distances = np.sqrt(((scaled[:, None, :] - scaled[None, :, :]) ** 2).sum(axis=2))
    return float(np.linalg.det(1.0 / (1.0 + distances)))
'''),
    Wrong("dpp", "dpp-multiplies-by-mad", '''
def dpp_diversity(C, mad):
    C = np.asarray(C, dtype=float)
    distances = (np.abs(C[:, None, :] - C[None, :, :]) * mad).sum(axis=2)
    return float(np.linalg.det(1.0 / (1.0 + distances)))
'''),
    Wrong("dpp", "dpp-mean-distance-over-features", '''
def dpp_diversity(C, mad):
    C = np.asarray(C, dtype=float)
    distances = (np.abs(C[:, None, :] - C[None, :, :]) / mad).mean(axis=2)
    return float(np.linalg.det(1.0 / (1.0 + distances)))
'''),
    # --- MMD^2
    Wrong("mmd2", "mmd2-distance-not-squared", _MMD.replace("KERNEL", f"np.exp(-gamma * np.sqrt({_SQ}))").replace(
        "RESULT", "kernel(X, X).mean() - 2 * kernel(X, Z).mean() + kernel(Z, Z).mean()")),
    Wrong("mmd2", "mmd2-gamma-as-width", _MMD.replace("KERNEL", f"np.exp(-{_SQ} / (2 * gamma**2))").replace(
        "RESULT", "kernel(X, X).mean() - 2 * kernel(X, Z).mean() + kernel(Z, Z).mean()")),
    Wrong("mmd2", "mmd2-sums", _MMD.replace("KERNEL", f"np.exp(-gamma * {_SQ})").replace(
        "RESULT", "(kernel(X, X).sum() - 2 * kernel(X, Z).sum() + kernel(Z, Z).sum()) / (len(X) + len(Z)) ** 2")),
    Wrong("mmd2", "mmd2-unbiased-without-diagonal", _MMD.replace("KERNEL", f"np.exp(-gamma * {_SQ})").replace(
        "RESULT", "(kernel(X, X).sum() - len(X)) / (len(X) * (len(X) - 1)) - 2 * kernel(X, Z).mean()"
                  " + (kernel(Z, Z).sum() - len(Z)) / (len(Z) * (len(Z) - 1))")),
    # --- greedy prototypes
    Wrong("greedy", "greedy-maximises", _GREEDY.replace("M", "len(chosen) + 1").replace(
        "CHOOSE", "int(np.argmax(np.where(np.isinf(objective), -np.inf, objective)))")),
    Wrong("greedy", "greedy-final-size-everywhere", _GREEDY.replace("M", "n_prototypes").replace(
        "CHOOSE", "int(np.argmin(objective))")),
    Wrong("greedy", "greedy-highest-index-on-ties", _GREEDY.replace("M", "len(chosen) + 1").replace(
        "CHOOSE", "int(len(objective) - 1 - np.argmin(objective[::-1]))")),
    # --- criticisms
    Wrong("criticisms", "criticisms-reversed-argsort", '''
def criticisms(K, prototypes, n_criticisms):
    K = np.asarray(K, dtype=float)
    score = np.abs(K.mean(axis=0) - K[prototypes].mean(axis=0))
    score[prototypes] = -np.inf
    return np.argsort(score)[::-1][:n_criticisms]
'''),
    Wrong("criticisms", "criticisms-sums-not-means", '''
def criticisms(K, prototypes, n_criticisms):
    K = np.asarray(K, dtype=float)
    score = np.abs(K.sum(axis=0) - K[prototypes].sum(axis=0))
    score[prototypes] = -np.inf
    return np.argsort(-score, kind="stable")[:n_criticisms]
'''),
    # --- DFBETA
    Wrong("dfbeta", "dfbeta-scaled-dfbetas", '''
def dfbeta(X, y):
    n, p = X.shape
    XtX_inv = np.linalg.inv(X.T @ X)
    e = y - X @ (XtX_inv @ X.T @ y)
    h = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
    raw = (X @ XtX_inv) * (e / (1 - h))[:, None]
    s_i = np.sqrt(((e**2).sum() - e**2 / (1 - h)) / (n - p - 1))
    return raw / (s_i[:, None] * np.sqrt(np.diag(XtX_inv))[None, :])
'''),
    Wrong("dfbeta", "dfbeta-squared-leverage-correction", '''
def dfbeta(X, y):
    XtX_inv = np.linalg.inv(X.T @ X)
    e = y - X @ (XtX_inv @ X.T @ y)
    h = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
    return (X @ XtX_inv) * (e / (1 - h) ** 2)[:, None]
'''),
    # --- influence function
    Wrong("influence", "influence-mean-loss-hessian", _INFLUENCE.replace(
        "HESSIAN", "(X * (p * (1 - p))[:, None]).T @ X / len(X) + lam * np.eye(X.shape[1])").replace("GTEST", _GTEST)),
    Wrong("influence", "influence-test-gradient-without-label", _INFLUENCE.replace("HESSIAN", _HESSIAN).replace(
        "GTEST", "x_test * (1 / (1 + np.exp(-x_test @ theta)))")),
    Wrong("influence", "influence-hessian-without-weights", _INFLUENCE.replace(
        "HESSIAN", "X.T @ X + lam * np.eye(X.shape[1])").replace("GTEST", _GTEST)),
]
