"""Single sign-on with an OpenID Connect identity provider: the provider client, who signed in, what that changes
in the gateway (user, groups, role), and the sign-ins in progress."""
