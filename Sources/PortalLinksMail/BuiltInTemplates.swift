extension MailTemplate {
    /// The messages PortalLinks sends unless a template directory replaces them.
    static func builtIn(_ kind: Kind) -> MailTemplate {
        switch kind {
        case .invitation:
            return MailTemplate(
                subject: "Your invitation to the {{company}} portal",
                text: """
                    Hello,

                    You are invited to the {{company}} portal. There you can share documents with us securely, \
                    follow the progress of your requests and keep your company's contacts up to date.

                    Open this link to create your account:

                    {{link}}

                    The link works until {{expires}}. Once your account exists, sign in as usual; the link is only \
                    needed once. If it has expired, write to {{contact}} and we will send a new one.

                    """,
                html: page("""
                    <p>Hello,</p>
                    <p>You are invited to the {{company}} portal. There you can share documents with us securely, \
                    follow the progress of your requests and keep your company's contacts up to date.</p>
                    <p><a href="{{link}}">Create your account</a></p>
                    <p>The link works until {{expires}}. Once your account exists, sign in as usual; the link is only \
                    needed once. If it has expired, write to {{contact}} and we will send a new one.</p>
                    """))
        case .renewal:
            return MailTemplate(
                subject: "A new link to the {{company}} portal",
                text: """
                    Hello,

                    The invitation link we sent you for the {{company}} portal expires soon. Here is a new one, \
                    which works until {{expires}}:

                    {{link}}

                    If you already have an account, nothing changes: sign in as usual. Questions: {{contact}}.

                    """,
                html: page("""
                    <p>Hello,</p>
                    <p>The invitation link we sent you for the {{company}} portal expires soon. Here is a new one, \
                    which works until {{expires}}:</p>
                    <p><a href="{{link}}">Open the {{company}} portal</a></p>
                    <p>If you already have an account, nothing changes: sign in as usual. Questions: {{contact}}.</p>
                    """))
        case .welcome:
            return MailTemplate(
                subject: "Welcome to the {{company}} portal",
                text: """
                    Hello,

                    Your account on the {{company}} portal is ready. Sign in here:

                    {{link}}

                    If you did not create this account, write to {{contact}}.

                    """,
                html: page("""
                    <p>Hello,</p>
                    <p>Your account on the {{company}} portal is ready.</p>
                    <p><a href="{{link}}">Sign in</a></p>
                    <p>If you did not create this account, write to {{contact}}.</p>
                    """))
        case .reset:
            return MailTemplate(
                subject: "Reset your password for the {{company}} portal",
                text: """
                    Hello,

                    Someone asked to reset the password of your account on the {{company}} portal. If it was you, \
                    choose a new password here before {{expires}}:

                    {{link}}

                    If it was not you, ignore this message: your password stays as it is. Questions: {{contact}}.

                    """,
                html: page("""
                    <p>Hello,</p>
                    <p>Someone asked to reset the password of your account on the {{company}} portal. If it was you, \
                    choose a new password here before {{expires}}:</p>
                    <p><a href="{{link}}">Choose a new password</a></p>
                    <p>If it was not you, ignore this message: your password stays as it is. Questions: {{contact}}.</p>
                    """))
        }
    }

    private static func page(_ body: String) -> String {
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family:sans-serif\">\n" + body + "\n</body></html>\n"
    }
}
