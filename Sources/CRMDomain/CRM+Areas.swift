/// The areas of the domain. Each is a cheap view of the one ``CRM`` (its replica, clock and
/// audit trail); its methods are `async` and check the caller's role.
extension CRM {
    /// Archives (客户健康档案): create, edit, search, caller ID, merges, keep-both conflicts, CSV import and export.
    public struct Patients: CRMArea { let crm: CRM }
    /// Admissions, transfers, discharges and outpatient visits, and a ward's patient list.
    public struct Encounters: CRMArea { let crm: CRM }
    /// Follow-up rules, the task queue, claims and call records.
    public struct FollowUps: CRMArea { let crm: CRM }
    /// Survey templates and their versions, submitted responses and flagged opinions.
    public struct Surveys: CRMArea { let crm: CRM }
    /// Complaints (投诉) and their lifecycle.
    public struct Complaints: CRMArea { let crm: CRM }
    /// The call center's consultations, appointments and blacklist.
    public struct Service: CRMArea { let crm: CRM }
    /// SMS templates, sends, campaigns, the outbox and delivery reports, opt-outs.
    public struct SMS: CRMArea { let crm: CRM }
    /// Satisfaction, NPS, opinions, follow-up coverage and complaint ageing.
    public struct Statistics: CRMArea { let crm: CRM }
    /// Accounts, logins and sessions.
    public struct Accounts: CRMArea { let crm: CRM }
    /// Reference lists, system parameters, the working calendar and the audit trail.
    public struct Organisation: CRMArea { let crm: CRM }

    public var patients: Patients { Patients(crm: self) }
    public var encounters: Encounters { Encounters(crm: self) }
    public var followUps: FollowUps { FollowUps(crm: self) }
    public var surveys: Surveys { Surveys(crm: self) }
    public var complaints: Complaints { Complaints(crm: self) }
    public var service: Service { Service(crm: self) }
    public var sms: SMS { SMS(crm: self) }
    public var statistics: Statistics { Statistics(crm: self) }
    public var accounts: Accounts { Accounts(crm: self) }
    public var organisation: Organisation { Organisation(crm: self) }
}
