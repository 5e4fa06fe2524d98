"""Plausible mistakes in lab 4, one or more per graded function."""

from . import Wrong

_WACHTER_HEAD = '''
def wachter_counterfactual(model, x, target, mad, *, mutable=None, eps=0.05, lam=0.1, lam_factor=2.0,
                           max_rounds=20, n_steps=200, lr=0.05):
    x = np.asarray(x, dtype=float)
    mad = np.asarray(mad, dtype=float)
    free = np.ones(len(x)) if mutable is None else np.asarray(mutable, dtype=float)
    x0 = torch.tensor(x, dtype=torch.float32)
'''

WRONG = [
    # --- Wachter search
    Wrong("wachter", "wachter-l2-distance", _WACHTER_HEAD + '''
    step = torch.tensor(free * mad, dtype=torch.float32)
    u = torch.zeros_like(x0, requires_grad=True)
    optimizer = torch.optim.Adam([u], lr=lr)
    for _ in range(max_rounds):
        for _ in range(n_steps):
            prediction = model((x0 + u * step)[None])[0]
            loss = lam * (prediction - target) ** 2 + (u ** 2).sum()
            u.grad, = torch.autograd.grad(loss, [u])
            optimizer.step()
        with torch.no_grad():
            prediction = float(model((x0 + u * step)[None])[0])
        if abs(prediction - target) <= eps:
            break
        lam *= lam_factor
    return x + free * mad * u.detach().double().numpy()
''', "spreads the change"),
    Wrong("wachter", "wachter-fixed-lambda", _WACHTER_HEAD + '''
    step = torch.tensor(free * mad, dtype=torch.float32)
    u = torch.zeros_like(x0, requires_grad=True)
    optimizer = torch.optim.Adam([u], lr=lr)
    for _ in range(n_steps * 3):
        prediction = model((x0 + u * step)[None])[0]
        loss = lam * (prediction - target) ** 2 + u.abs().sum()
        u.grad, = torch.autograd.grad(loss, [u])
        optimizer.step()
    return x + free * mad * u.detach().double().numpy()
''', "does not reach the target"),
    Wrong("wachter", "wachter-raw-units", _WACHTER_HEAD + '''
    step = torch.tensor(free, dtype=torch.float32)
    u = torch.zeros_like(x0, requires_grad=True)
    optimizer = torch.optim.Adam([u], lr=lr)
    for _ in range(max_rounds):
        for _ in range(n_steps):
            prediction = model((x0 + u * step)[None])[0]
            loss = lam * (prediction - target) ** 2 + (u * step).abs().sum()
            u.grad, = torch.autograd.grad(loss, [u])
            optimizer.step()
        with torch.no_grad():
            prediction = float(model((x0 + u * step)[None])[0])
        if abs(prediction - target) <= eps:
            break
        lam *= lam_factor
    return x + free * u.detach().double().numpy()
'''),
    # --- closed form of the logistic model
    Wrong("minimal_cf", "closed-form-l2-projection", '''
def minimal_counterfactual(model, x, target, mad, *, mutable=None):
    w = model.coef_[0] * (1.0 if mutable is None else np.asarray(mutable, dtype=float))
    x = np.asarray(x, dtype=float)
    gap = np.log(target / (1 - target)) - (model.coef_[0] @ x + model.intercept_[0])
    return x + gap * w / (w @ w)
''', "the cheapest counterfactual"),
    Wrong("minimal_cf", "closed-form-divides-by-mad", '''
def minimal_counterfactual(model, x, target, mad, *, mutable=None):
    w = model.coef_[0]
    x = np.asarray(x, dtype=float)
    gap = np.log(target / (1 - target)) - (w @ x + model.intercept_[0])
    usefulness = np.abs(w) / np.asarray(mad)
    if mutable is not None:
        usefulness = np.where(mutable, usefulness, -1.0)
    j = int(np.argmax(usefulness))
    x_cf = x.copy()
    x_cf[j] += gap / w[j]
    return x_cf
''', "differs from the cheapest counterfactual"),
    # --- DiCE's diversity
    Wrong("dpp", "dpp-raw-units", '''
def dpp_diversity(C, mad):
    C = np.asarray(C, dtype=float)
    distances = np.abs(C[:, None, :] - C[None, :, :]).sum(axis=2)
    return float(np.linalg.det(1.0 / (1.0 + distances)))
''', "other units"),
    Wrong("dpp", "dpp-mean-similarity", '''
def dpp_diversity(C, mad):
    C = np.asarray(C, dtype=float)
    distances = (np.abs(C[:, None, :] - C[None, :, :]) / mad).sum(axis=2)
    return float(1.0 - (1.0 / (1.0 + distances)).mean())
''', "a single counterfactual should be 1"),
    Wrong("dpp", "dpp-exponential-kernel", '''
def dpp_diversity(C, mad):
    C = np.asarray(C, dtype=float)
    distances = (np.abs(C[:, None, :] - C[None, :, :]) / mad).sum(axis=2)
    return float(np.linalg.det(np.exp(-distances)))
''', "1 / (1 + MAD-weighted L1 distance)"),
    # --- MMD^2
    Wrong("mmd2", "mmd2-without-cross-term", '''
def mmd2(X, Z, *, gamma):
    def kernel(A, B):
        return np.exp(-gamma * ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2))
    return float(kernel(X, X).mean() + kernel(Z, Z).mean())
''', "not 0"),
    # --- greedy prototypes
    Wrong("greedy", "greedy-densest-points", '''
def greedy_prototypes(K, n_prototypes):
    return np.argsort(-np.asarray(K).mean(axis=0), kind="stable")[:n_prototypes]
''', "same one of two separate clusters"),
    # --- criticisms
    Wrong("criticisms", "criticisms-signed-witness", '''
def criticisms(K, prototypes, n_criticisms):
    K = np.asarray(K, dtype=float)
    witness = K.mean(axis=0) - K[prototypes].mean(axis=0)
    witness[prototypes] = -np.inf
    return np.argsort(-witness, kind="stable")[:n_criticisms]
''', "largest absolute witness value"),
    Wrong("criticisms", "criticisms-include-prototypes", '''
def criticisms(K, prototypes, n_criticisms):
    K = np.asarray(K, dtype=float)
    witness = K.mean(axis=0) - K[prototypes].mean(axis=0)
    return np.argsort(-np.abs(witness), kind="stable")[:n_criticisms]
''', "returns a prototype"),
    # --- DFBETA
    Wrong("dfbeta", "dfbeta-no-leverage-correction", '''
def dfbeta(X, y):
    XtX_inv = np.linalg.inv(X.T @ X)
    residuals = y - X @ (XtX_inv @ X.T @ y)
    return (X @ XtX_inv) * residuals[:, None]
''', "1 / (1 - h_ii)"),
    Wrong("dfbeta", "dfbeta-wrong-sign", '''
def dfbeta(X, y):
    XtX_inv = np.linalg.inv(X.T @ X)
    residuals = y - X @ (XtX_inv @ X.T @ y)
    leverage = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
    return -(X @ XtX_inv) * (residuals / (1 - leverage))[:, None]
'''),
    # --- influence function
    Wrong("influence", "influence-wrong-sign", '''
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    p = 1 / (1 + np.exp(-X @ theta))
    hessian = (X * (p * (1 - p))[:, None]).T @ X + lam * np.eye(X.shape[1])
    gradient_test = x_test * (1 / (1 + np.exp(-x_test @ theta)) - y_test)
    return -(X * (p - y)[:, None]) @ np.linalg.solve(hessian, gradient_test)
''', "wrong sign"),
    Wrong("influence", "influence-without-hessian", '''
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    p = 1 / (1 + np.exp(-X @ theta))
    gradient_test = x_test * (1 / (1 + np.exp(-x_test @ theta)) - y_test)
    return (X * (p - y)[:, None]) @ gradient_test
''', "NaiveInfluenceFunction"),
    Wrong("influence", "influence-hessian-without-l2", '''
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    p = 1 / (1 + np.exp(-X @ theta))
    hessian = (X * (p * (1 - p))[:, None]).T @ X
    gradient_test = x_test * (1 / (1 + np.exp(-x_test @ theta)) - y_test)
    return (X * (p - y)[:, None]) @ np.linalg.solve(hessian, gradient_test)
''', "L2 term"),
]
